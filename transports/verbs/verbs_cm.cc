#include "verbs_cm.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "verbs_device.h"

namespace fb::verbs {
namespace {

// The connect request's private data: a magic and the connecting rank, little-endian.
constexpr uint32_t kCmMagic = 0x4d435646;  // "FVCM"
constexpr size_t kPrivateBytes = 8;

void put_u32(uint8_t* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}
uint32_t get_u32(const uint8_t* in) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= uint32_t{in[i]} << (8 * i);
  return value;
}

sockaddr_in to_sockaddr(const CmAddress& address) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  std::memcpy(&out.sin_addr, address.ip.data(), 4);
  out.sin_port = htons(address.port);
  return out;
}

std::string rank_text(int peer) { return "rank " + std::to_string(peer); }

// An event's fields, copied so that it can be acknowledged at once: an unacknowledged event
// would make rdma_destroy_id wait forever on an error path.
struct Event {
  rdma_cm_event_type type{};
  int status = 0;
  rdma_cm_id* id = nullptr;
  bool on_listener = false;
  std::vector<uint8_t> private_data;
  uint8_t initiator_depth = 0;
  uint8_t responder_resources = 0;
};

}  // namespace

std::string to_string(const CmAddress& address) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, address.ip.data(), text, sizeof text);
  return std::string(text) + ":" + std::to_string(address.port);
}

CmConnector::CmConnector(CmChannelPtr channel, CmIdPtr listener, CmAddress address, int rank,
                         std::string device_name)
    : channel_(std::move(channel)),
      listener_(std::move(listener)),
      address_(address),
      rank_(rank),
      device_name_(std::move(device_name)) {}

CmConnector::~CmConnector() {
  ids_.clear();
  listener_.reset();
}

Expected<std::unique_ptr<CmConnector>> CmConnector::listen(const std::array<uint8_t, 4>& ip, int rank,
                                                           std::string device_name) {
  CmChannelPtr channel(rdma_create_event_channel());
  if (!channel)
    return verbs_errno(errno, "rdma_create_event_channel (is /dev/infiniband/rdma_cm there and rdma_ucm loaded?)",
                       FB_HERE);
  const int flags = fcntl(channel->fd, F_GETFL);
  if (flags < 0 || fcntl(channel->fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return Status::from_errno(errno, "fcntl O_NONBLOCK on the rdma_cm event channel", FB_HERE);
  rdma_cm_id* raw = nullptr;
  if (rdma_create_id(channel.get(), &raw, nullptr, RDMA_PS_TCP) != 0)
    return verbs_errno(errno, "rdma_create_id (listener)", FB_HERE);
  CmIdPtr listener(raw);
  CmAddress address{ip, 0};
  sockaddr_in bind_to = to_sockaddr(address);
  if (rdma_bind_addr(listener.get(), reinterpret_cast<sockaddr*>(&bind_to)) != 0)
    return verbs_errno(errno, "rdma_bind_addr to " + to_string(address) + " (the RDMA device's address)", FB_HERE);
  if (rdma_listen(listener.get(), 64) != 0) return verbs_errno(errno, "rdma_listen on " + to_string(address), FB_HERE);
  address.port = ntohs(rdma_get_src_port(listener.get()));
  if (listener->verbs != nullptr && device_name != ibv_get_device_name(listener->verbs->device))
    return Status::error(StatusCode::kInvalidArgument,
                         "rdma_cm listens on " + to_string(address) + " through device " +
                             ibv_get_device_name(listener->verbs->device) + ", but this rank uses " + device_name +
                             ": give --ip the address of " + device_name + "'s network interface",
                         FB_HERE);
  return std::unique_ptr<CmConnector>(
      new CmConnector(std::move(channel), std::move(listener), address, rank, std::move(device_name)));
}

Status CmConnector::check_device(rdma_cm_id* id, int peer) const {
  if (id->verbs == nullptr || device_name_ == ibv_get_device_name(id->verbs->device)) return {};
  return Status::error(StatusCode::kInvalidArgument,
                       "rdma_cm routes the connection with " + rank_text(peer) + " through device " +
                           ibv_get_device_name(id->verbs->device) + ", but this rank's QPs are on " + device_name_,
                       FB_HERE);
}

// RTR then RTS with what the CM negotiated (address vector, remote QPN, PSNs), then the
// transport's own QP settings; the QP is already in INIT on the same port.
Status CmConnector::to_rts(rdma_cm_id* id, ibv_qp* qp, int peer, const CmQpSettings& s) {
  const std::string which = " (QP " + std::to_string(qp->qp_num) + " to " + rank_text(peer) + ", rdma_cm)";
  ibv_qp_attr attr{};
  int mask = 0;
  attr.qp_state = IBV_QPS_RTR;
  if (rdma_init_qp_attr(id, &attr, &mask) != 0) return verbs_errno(errno, "rdma_init_qp_attr for RTR" + which, FB_HERE);
  attr.path_mtu = static_cast<ibv_mtu>(std::min<int>(attr.path_mtu, s.path_mtu));
  attr.max_dest_rd_atomic = s.rd_atomic;
  attr.min_rnr_timer = static_cast<uint8_t>(s.min_rnr_timer);
  if (s.traffic_class != 0) attr.ah_attr.grh.traffic_class = static_cast<uint8_t>(s.traffic_class);
  if (s.service_level != 0) attr.ah_attr.sl = static_cast<uint8_t>(s.service_level);
  mask |= IBV_QP_PATH_MTU | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
  if (int err = ibv_modify_qp(qp, &attr, mask); err != 0) return verbs_errno(err, "ibv_modify_qp to RTR" + which, FB_HERE);
  attr = {};
  mask = 0;
  attr.qp_state = IBV_QPS_RTS;
  if (rdma_init_qp_attr(id, &attr, &mask) != 0) return verbs_errno(errno, "rdma_init_qp_attr for RTS" + which, FB_HERE);
  attr.timeout = static_cast<uint8_t>(s.ack_timeout);
  attr.retry_cnt = static_cast<uint8_t>(s.retry_count);
  attr.rnr_retry = static_cast<uint8_t>(s.rnr_retry);
  attr.max_rd_atomic = s.rd_atomic;
  mask |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC;
  if (int err = ibv_modify_qp(qp, &attr, mask); err != 0) return verbs_errno(err, "ibv_modify_qp to RTS" + which, FB_HERE);
  return {};
}

std::string CmConnector::pending_summary(std::span<const CmAddress> peers) const {
  static constexpr const char* kStage[] = {"resolving its address", "resolving the route", "waiting for its accept",
                                           "waiting for its connect request or establishment", "connected"};
  std::string out;
  int listed = 0;
  for (size_t peer = 0; peer < stages_.size(); ++peer) {
    if (stages_[peer] == Stage::kConnected) continue;
    if (++listed > 8) {
      out += ", ...";
      break;
    }
    out += (out.empty() ? "" : ", ") + rank_text(static_cast<int>(peer)) + " at " + to_string(peers[peer]) + " (" +
           kStage[static_cast<int>(stages_[peer])] + ")";
  }
  return out;
}

Status CmConnector::connect_all(std::span<ibv_qp* const> qps, std::span<const CmAddress> peers,
                                const CmQpSettings& settings, const Deadline& deadline) {
  const int ranks = static_cast<int>(qps.size());
  ids_.resize(ranks);
  stages_.assign(ranks, Stage::kConnected);
  int pending = 0;
  uint8_t private_data[kPrivateBytes];
  put_u32(private_data, kCmMagic);
  put_u32(private_data + 4, static_cast<uint32_t>(rank_));
  const auto step_ms = [&] { return std::max(1, deadline.poll_timeout_ms()); };
  for (int peer = 0; peer < ranks; ++peer) {
    if (peer == rank_) continue;
    ++pending;
    if (peer < rank_) {
      stages_[peer] = Stage::kAccepting;
      continue;
    }
    rdma_cm_id* raw = nullptr;
    if (rdma_create_id(channel_.get(), &raw, reinterpret_cast<void*>(static_cast<intptr_t>(peer)), RDMA_PS_TCP) != 0)
      return verbs_errno(errno, "rdma_create_id for " + rank_text(peer), FB_HERE);
    ids_[peer].reset(raw);
    sockaddr_in source = to_sockaddr({address_.ip, 0});
    sockaddr_in destination = to_sockaddr(peers[peer]);
    stages_[peer] = Stage::kResolvingAddress;
    if (rdma_resolve_addr(raw, reinterpret_cast<sockaddr*>(&source), reinterpret_cast<sockaddr*>(&destination),
                          step_ms()) != 0)
      return verbs_errno(errno, "rdma_resolve_addr from " + to_string(address_) + " to " + rank_text(peer) + " at " +
                                    to_string(peers[peer]), FB_HERE);
  }

  rdma_conn_param param{};
  param.private_data = private_data;
  param.private_data_len = kPrivateBytes;
  param.responder_resources = settings.rd_atomic;
  param.initiator_depth = settings.rd_atomic;
  param.retry_count = static_cast<uint8_t>(settings.retry_count);
  param.rnr_retry_count = static_cast<uint8_t>(settings.rnr_retry);

  while (pending > 0) {
    rdma_cm_event* raw_event = nullptr;
    if (rdma_get_cm_event(channel_.get(), &raw_event) != 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return verbs_errno(errno, "rdma_get_cm_event", FB_HERE);
      if (deadline.expired())
        return Status::error(StatusCode::kTimeout,
                             rank_text(rank_) + ": rdma_cm connections not established after " +
                                 std::to_string(deadline.budget().count()) + " ms: " + pending_summary(peers),
                             FB_HERE);
      pollfd fd{.fd = channel_->fd, .events = POLLIN, .revents = 0};
      if (::poll(&fd, 1, std::min(step_ms(), 100)) < 0 && errno != EINTR)
        return Status::from_errno(errno, "poll on the rdma_cm event channel", FB_HERE);
      continue;
    }
    Event event;
    event.type = raw_event->event;
    event.status = raw_event->status;
    event.id = raw_event->id;
    event.on_listener = raw_event->listen_id == listener_.get() && event.type == RDMA_CM_EVENT_CONNECT_REQUEST;
    const rdma_conn_param& conn = raw_event->param.conn;
    if (conn.private_data != nullptr && conn.private_data_len > 0) {
      const auto* bytes = static_cast<const uint8_t*>(conn.private_data);
      event.private_data.assign(bytes, bytes + conn.private_data_len);
    }
    event.initiator_depth = conn.initiator_depth;
    event.responder_resources = conn.responder_resources;
    rdma_ack_cm_event(raw_event);

    if (event.on_listener) {
      CmIdPtr id(event.id);  // ours from now on, accepted or not
      if (event.private_data.size() < kPrivateBytes || get_u32(event.private_data.data()) != kCmMagic) {
        rdma_reject(id.get(), nullptr, 0);
        continue;  // not a fabricbench rank: ignored, its connection refused
      }
      const int peer = static_cast<int>(get_u32(event.private_data.data() + 4));
      if (peer < 0 || peer >= rank_ || stages_[peer] != Stage::kAccepting || ids_[peer])
        return Status::error(StatusCode::kProtocol,
                             rank_text(rank_) + " got an rdma_cm connect request from " + rank_text(peer) +
                                 ", which it does not expect (only lower ranks connect, once each; is another "
                                 "job using " + to_string(address_) + "?)",
                             FB_HERE);
      id->context = reinterpret_cast<void*>(static_cast<intptr_t>(peer));
      ids_[peer] = std::move(id);
      FB_TRY(check_device(ids_[peer].get(), peer));
      FB_TRY(to_rts(ids_[peer].get(), qps[peer], peer, settings));
      rdma_conn_param accept = param;
      accept.qp_num = qps[peer]->qp_num;
      accept.private_data = nullptr;
      accept.private_data_len = 0;
      accept.responder_resources = std::min(settings.rd_atomic, event.initiator_depth);
      accept.initiator_depth = std::min(settings.rd_atomic, event.responder_resources);
      if (rdma_accept(ids_[peer].get(), &accept) != 0)
        return verbs_errno(errno, "rdma_accept of " + rank_text(peer) + "'s connection", FB_HERE);
      continue;
    }

    const int peer = static_cast<int>(reinterpret_cast<intptr_t>(event.id->context));
    if (peer < 0 || peer >= ranks || ids_[peer].get() != event.id) continue;  // a stale id's late event
    const std::string with = rank_text(peer) + " at " + to_string(peers[peer]);
    switch (event.type) {
      case RDMA_CM_EVENT_ADDR_RESOLVED:
        stages_[peer] = Stage::kResolvingRoute;
        if (rdma_resolve_route(event.id, step_ms()) != 0)
          return verbs_errno(errno, "rdma_resolve_route to " + with, FB_HERE);
        break;
      case RDMA_CM_EVENT_ROUTE_RESOLVED: {
        FB_TRY(check_device(event.id, peer));
        stages_[peer] = Stage::kConnecting;
        rdma_conn_param request = param;
        request.qp_num = qps[peer]->qp_num;
        if (rdma_connect(event.id, &request) != 0) return verbs_errno(errno, "rdma_connect to " + with, FB_HERE);
        break;
      }
      case RDMA_CM_EVENT_CONNECT_RESPONSE:
        // The QP is the context's, not the CM's: it is moved to RTS here, then the CM is told.
        FB_TRY(to_rts(event.id, qps[peer], peer, settings));
        if (rdma_establish(event.id) != 0) return verbs_errno(errno, "rdma_establish with " + with, FB_HERE);
        stages_[peer] = Stage::kConnected;
        --pending;
        break;
      case RDMA_CM_EVENT_ESTABLISHED:
        if (stages_[peer] != Stage::kConnected) {
          stages_[peer] = Stage::kConnected;
          --pending;
        }
        break;
      default: {
        std::string hint;
        if (event.type == RDMA_CM_EVENT_REJECTED)
          hint = " (is " + rank_text(peer) + " listening there, with the same --rdma-cm and device?)";
        if (event.type == RDMA_CM_EVENT_ADDR_ERROR || event.type == RDMA_CM_EVENT_ROUTE_ERROR)
          hint = " (no route from " + to_string(address_) + " through " + device_name_ + "?)";
        return Status::native("rdma_cm", event.status, rdma_event_str(event.type),
                              rank_text(rank_) + ": " + rdma_event_str(event.type) + " (status " +
                                  std::to_string(event.status) + ") on the connection with " + with + hint,
                              FB_HERE);
      }
    }
  }
  return {};
}

}  // namespace fb::verbs
