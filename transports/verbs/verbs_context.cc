#include "verbs_context.h"

#include "verbs_dmabuf.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <thread>

namespace fb::verbs {
namespace {

// wr_id of a send-queue WR: its lane's index shifted left by two, kind kWrLane; what the WR
// carried waits in the lane's inflight queue: an Op pointer (8-byte aligned, low bits 0), a
// send slot index shifted left by two with kind kWrSendSlot, or kWrSignal. wr_id of a receive:
// its bounce slot index shifted left by two, kind kWrRecvSlot.
constexpr uint64_t kWrOp = 0;
constexpr uint64_t kWrSendSlot = 1;
constexpr uint64_t kWrRecvSlot = 2;
constexpr uint64_t kWrLane = 3;
constexpr uint64_t kWrSignal = 3;  // inflight only: a WR posted to request a completion
constexpr uint64_t kWrProbe = 7;   // inflight only: a zero-length READ asking a silent peer's NIC

// A peer this rank waits for that has been silent this long gets a zero-length RDMA READ: if
// its QP is gone (the process exited or was killed, the host or link is down) the READ fails
// after the QP's retries (timeout, retry_cnt) and names it, instead of a wait that only ends
// at the run's --timeout without saying whom it waited for.
constexpr auto kProbeAfter = std::chrono::seconds(1);
constexpr uint32_t kIdlePollsPerCheck = 4096;
uint64_t slot_wr_id(uint32_t slot, uint64_t kind) { return (uint64_t{slot} << 2) | kind; }

// Completions polled per ibv_poll_cq call.
constexpr int kPollBatch = 32;
// A missed wakeup costs at most this long in event mode.
constexpr int kMaxSleepMs = 100;
// Receive-not-ready retries: 7 means the sender retries for as long as the receiver needs to
// repost its bounce buffers (it does so whenever it progresses).
constexpr int kRnrRetryInfinite = 7;
constexpr int kMinRnrTimer = 12;  // 0.64 ms

constexpr int kAccess = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;

Status truncated(uint64_t message, uint64_t capacity, int source, uint32_t tag) {
  return Status::error(StatusCode::kInvalidArgument,
                       "message of " + std::to_string(message) + " bytes from rank " + std::to_string(source) +
                           " (tag " + std::to_string(tag) + ") does not fit the posted " +
                           std::to_string(capacity) + "-byte receive",
                       FB_HERE);
}

const char* op_name(Op::Kind kind) {
  switch (kind) {
    case Op::Kind::kSend: return "SEND";
    case Op::Kind::kRecv: return "receive";
    case Op::Kind::kPut: return "RDMA WRITE (put)";
    case Op::Kind::kGet: return "RDMA READ (get)";
    case Op::Kind::kFlush: return "zero-length RDMA READ (flush)";
    case Op::Kind::kPutImm: return "RDMA WRITE with immediate (put_imm)";
    case Op::Kind::kRecvImm: return "receive of a put_imm notification";
  }
  return "operation";
}

Status check_remote_range(const RemoteRegion& remote, size_t offset, size_t bytes) {
  if (offset <= remote.size() && bytes <= remote.size() - offset) return {};
  return Status::error(StatusCode::kInvalidArgument,
                       "one-sided access [" + std::to_string(offset) + ", " + std::to_string(offset + bytes) +
                           ") is outside rank " + std::to_string(remote.peer()) + "'s " +
                           std::to_string(remote.size()) + "-byte region",
                       FB_HERE);
}

}  // namespace

Bytes VerbsMemRegion::pack() const {
  return verbs::pack(RegionKey{reinterpret_cast<uint64_t>(span_.data), span_.size, mr_ ? mr_->rkey : 0});
}

// ---------------------------------------------------------------------------------- opening

Expected<std::unique_ptr<Context>> VerbsContext::open(Bootstrap& bootstrap, const TransportOptions& options) {
  FB_TRY_ASSIGN(Settings settings, parse_settings(options.settings));
  if (static_cast<size_t>(settings.chunk) <= kHeaderBytes)
    return Status::error(StatusCode::kInvalidArgument, "verbs chunk must exceed the message header", FB_HERE);
  FB_TRY_ASSIGN(Selection selection, select_device(settings, bootstrap.local_rank()));
  std::unique_ptr<VerbsContext> context(
      new VerbsContext(bootstrap, options, std::move(settings), std::move(selection)));
  FB_TRY(context->create_resources());
  std::map<uint32_t, int> qp_peers;
  for (const Lane& l : context->lanes_) qp_peers[l.qp->qp_num] = l.peer;
  FB_TRY_ASSIGN(context->events_, AsyncEvents::start(context->selection_.device->context.get(),
                                                     context->selection_.name, context->selection_.port,
                                                     std::move(qp_peers)));
  FB_TRY(context->connect_all());
  return std::unique_ptr<Context>(std::move(context));
}

VerbsContext::VerbsContext(Bootstrap& bootstrap, TransportOptions options, Settings settings,
                           Selection selection)
    : bootstrap_(bootstrap),
      options_(std::move(options)),
      settings_(std::move(settings)),
      selection_(std::move(selection)) {}

Status VerbsContext::create_resources() {
  ibv_context* device = selection_.device->context.get();
  ibv_pd* pd = selection_.device->pd.get();
  const int ranks = size();
  const auto chunk = static_cast<size_t>(settings_.chunk);
  // A completion channel in every progress mode: a rank that only waits for its peer (the
  // target of one-sided transfers) sleeps on it even under --progress poll. The CQ is armed
  // only by wait_for_activity(), so a polling rank gets no events.
  ibv_comp_channel* channel = ibv_create_comp_channel(device);
  if (channel == nullptr) return verbs_errno(errno, "ibv_create_comp_channel", FB_HERE);
  channel_.reset(channel);
  const int flags = fcntl(channel->fd, F_GETFL);
  if (flags < 0 || fcntl(channel->fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return Status::from_errno(errno, "fcntl O_NONBLOCK on the completion channel", FB_HERE);
  const int cq_size = std::min(ranks * (settings_.qps * settings_.sq_depth + settings_.recv_depth) + 16,
                               selection_.device_attr.max_cqe);
  ibv_cq* cq = ibv_create_cq(device, cq_size, nullptr, channel_.get(), 0);
  if (cq == nullptr) return verbs_errno(errno, "ibv_create_cq of " + std::to_string(cq_size) + " entries", FB_HERE);
  cq_.reset(cq);

  // Send slots are shared by all peers; receive slots are recv_depth per peer.
  const size_t send_slots = static_cast<size_t>(settings_.sq_depth);
  const size_t recv_slots = static_cast<size_t>(settings_.recv_depth) * ranks;
  send_slots_memory_.resize(send_slots * chunk);
  recv_slots_memory_.resize(recv_slots * chunk);
  ibv_mr* mr = ibv_reg_mr(pd, send_slots_memory_.data(), send_slots_memory_.size(), IBV_ACCESS_LOCAL_WRITE);
  if (mr == nullptr) return verbs_errno(errno, "ibv_reg_mr of the send bounce buffers", FB_HERE);
  send_mr_.reset(mr);
  mr = ibv_reg_mr(pd, recv_slots_memory_.data(), recv_slots_memory_.size(), IBV_ACCESS_LOCAL_WRITE);
  if (mr == nullptr) return verbs_errno(errno, "ibv_reg_mr of the receive bounce buffers", FB_HERE);
  recv_mr_.reset(mr);
  for (size_t slot = send_slots; slot-- > 0;) free_send_slots_.push_back(static_cast<uint32_t>(slot));

  peers_.resize(ranks);
  lanes_.resize(static_cast<size_t>(ranks) * settings_.qps);
  for (size_t index = 0; index < lanes_.size(); ++index) {
    const int peer = static_cast<int>(index) / settings_.qps;
    const bool messages = index % settings_.qps == 0;  // lane 0 carries the SENDs
    ibv_qp_init_attr init{};
    init.send_cq = cq;
    init.recv_cq = cq;
    init.qp_type = IBV_QPT_RC;
    init.cap.max_send_wr = settings_.sq_depth;
    init.cap.max_recv_wr = messages ? settings_.recv_depth : 1;
    init.cap.max_send_sge = 1;
    init.cap.max_recv_sge = 1;
    init.cap.max_inline_data = settings_.max_inline;
    ibv_qp* qp = ibv_create_qp(pd, &init);
    if (qp == nullptr)
      return verbs_errno(errno, "ibv_create_qp (RC, " + std::to_string(settings_.sq_depth) +
                                    " send WRs) for rank " + std::to_string(peer), FB_HERE);
    Lane& l = lanes_[index];
    l.qp.reset(qp);
    l.peer = peer;
    l.sq_free = settings_.sq_depth;
    if (messages) peers_[peer].endpoint = std::make_unique<VerbsEndpoint>(*this, peer);

    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_INIT;
    attr.pkey_index = 0;
    attr.port_num = static_cast<uint8_t>(selection_.port);
    attr.qp_access_flags = kAccess;
    if (int err = ibv_modify_qp(qp, &attr, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
        err != 0)
      return verbs_errno(err, "ibv_modify_qp to INIT (QP for rank " + std::to_string(peer) + ")", FB_HERE);
    if (messages)
      for (int i = 0; i < settings_.recv_depth; ++i)
        FB_TRY(post_recv_slot(static_cast<uint32_t>(peer * settings_.recv_depth + i)));
  }
  return {};
}

Status VerbsContext::post_recv_slot(uint32_t slot) {
  const auto chunk = static_cast<size_t>(settings_.chunk);
  ibv_sge sge{};
  sge.addr = reinterpret_cast<uint64_t>(recv_slots_memory_.data() + slot * chunk);
  sge.length = static_cast<uint32_t>(chunk);
  sge.lkey = recv_mr_->lkey;
  ibv_recv_wr wr{};
  wr.wr_id = slot_wr_id(slot, kWrRecvSlot);
  wr.sg_list = &sge;
  wr.num_sge = 1;
  ibv_recv_wr* bad = nullptr;
  const int peer = static_cast<int>(slot / settings_.recv_depth);
  if (int err = ibv_post_recv(lane(peer, 0).qp.get(), &wr, &bad); err != 0)
    return verbs_errno(err, "ibv_post_recv (bounce buffer for rank " + std::to_string(peer) + ")", FB_HERE);
  return {};
}

Status VerbsContext::connect_all() {
  const int ranks = size();
  ConnectionInfo mine;
  mine.link_layer = selection_.port_attr.link_layer;
  mine.mtu = static_cast<uint8_t>(selection_.port_attr.active_mtu);
  mine.lid = selection_.port_attr.lid;
  mine.gid = selection_.gid.gid;
  for (const GidEntry& e : selection_.candidates) mine.candidates.push_back(e.gid);
  std::random_device random;
  for (const Lane& l : lanes_) mine.qps.push_back({l.qp->qp_num, random() & 0xffffff});
  if (settings_.rdma_cm) {
    if (!is_ipv4_mapped(selection_.gid.gid))
      return Status::error(StatusCode::kInvalidArgument,
                           "rdma_cm listens on the IPv4 address of the rank's GID, but " + selection_.name +
                               " GID " + std::to_string(selection_.gid.index) + " is " +
                               gid_to_string(selection_.gid.gid) +
                               ": choose a RoCEv2 IPv4 GID with --ip or --gid-index, or connect without --rdma-cm",
                           FB_HERE);
    std::array<uint8_t, 4> ip{};
    std::copy_n(selection_.gid.gid.begin() + 12, 4, ip.begin());
    FB_TRY_ASSIGN(cm_, CmConnector::listen(ip, rank(), selection_.name));
    mine.rdma_cm = true;
    mine.cm_ip = cm_->address().ip;
    mine.cm_port = cm_->address().port;
  }
  FB_TRY_ASSIGN(std::vector<Bytes> all, bootstrap_.allgather(pack(mine)));
  std::vector<ConnectionInfo> infos;
  for (int peer = 0; peer < ranks; ++peer) {
    FB_TRY_ASSIGN(ConnectionInfo info, unpack_connection(all[peer], peer));
    if (info.qps.size() != lanes_.size() || info.link_layer != mine.link_layer)
      return Status::error(StatusCode::kProtocol,
                           "rank " + std::to_string(peer) + "'s verbs connection info does not match this job (" +
                               std::to_string(info.qps.size()) + " QPs where this rank has " +
                               std::to_string(lanes_.size()) + " (" + std::to_string(settings_.qps) +
                               " per peer; give every rank the same --qps), link layer " +
                               std::to_string(info.link_layer) + ")",
                           FB_HERE);
    if (info.rdma_cm != settings_.rdma_cm)
      return Status::error(StatusCode::kInvalidArgument,
                           "rank " + std::to_string(peer) + " connects its QPs " +
                               (info.rdma_cm ? "with rdma_cm" : "through the bootstrap") + ", this rank " +
                               (settings_.rdma_cm ? "with rdma_cm" : "through the bootstrap") +
                               ": give every rank the same --rdma-cm (transport setting rdma_cm)",
                           FB_HERE);
    infos.push_back(std::move(info));
  }
  path_mtu_ = mine.mtu;
  for (const auto& info : infos) path_mtu_ = std::min<int>(path_mtu_, info.mtu);
  if (settings_.mtu) path_mtu_ = std::min(path_mtu_, mtu_enum(settings_.mtu));

  const bool ethernet = mine.link_layer == IBV_LINK_LAYER_ETHERNET;
  if (settings_.rdma_cm) {
    // The CM routes from the address the rank listens on: the default GID, to every peer.
    gid_choice_ = "rdma_cm (the listening address's GID)";
    peer_gids_.clear();
    for (const auto& info : infos) peer_gids_.push_back(PeerGid{selection_.gid, info.gid, false});
  } else {
    choose_gids(infos);
  }
  if (ethernet) std::fprintf(stderr, "fabricbench: verbs rank %d: %s\n", rank(), gid_summary().c_str());
  for (size_t index = 0; index < lanes_.size(); ++index) {
    const int peer = lanes_[index].peer;
    if (settings_.rdma_cm && peer != rank()) continue;  // connected by connect_with_cm()
    // The peer's QP for this rank's lane k sits at rank * qps + k in its list.
    const size_t remote_index = static_cast<size_t>(rank() * settings_.qps) + index % settings_.qps;
    const ConnectionInfo& remote = infos[peer];
    ibv_qp* qp = lanes_[index].qp.get();
    const std::string which = " (QP " + std::to_string(qp->qp_num) + " to rank " + std::to_string(peer) + ")";
    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_RTR;
    attr.path_mtu = static_cast<ibv_mtu>(path_mtu_);
    attr.dest_qp_num = remote.qps[remote_index].qpn;
    attr.rq_psn = remote.qps[remote_index].psn;
    attr.max_dest_rd_atomic = static_cast<uint8_t>(std::max(1, selection_.device_attr.max_qp_rd_atom));
    attr.min_rnr_timer = kMinRnrTimer;
    attr.ah_attr.port_num = static_cast<uint8_t>(selection_.port);
    attr.ah_attr.sl = static_cast<uint8_t>(settings_.service_level);
    attr.ah_attr.dlid = remote.lid;
    if (ethernet) {
      attr.ah_attr.is_global = 1;
      std::memcpy(attr.ah_attr.grh.dgid.raw, peer_gids_[peer].remote.data(), 16);
      attr.ah_attr.grh.sgid_index = static_cast<uint8_t>(peer_gids_[peer].local.index);
      attr.ah_attr.grh.hop_limit = 64;
      attr.ah_attr.grh.traffic_class = static_cast<uint8_t>(settings_.traffic_class);
    }
    if (int err = ibv_modify_qp(qp, &attr,
                                IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                                    IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
        err != 0)
      return verbs_errno(err, "ibv_modify_qp to RTR" + which + ", GID index " +
                                  std::to_string(peer_gids_[peer].local.index) + " to " +
                                  gid_to_string(peer_gids_[peer].remote), FB_HERE);
    attr = {};
    attr.qp_state = IBV_QPS_RTS;
    attr.timeout = static_cast<uint8_t>(settings_.ack_timeout);
    attr.retry_cnt = static_cast<uint8_t>(settings_.retry_count);
    attr.rnr_retry = kRnrRetryInfinite;
    attr.sq_psn = mine.qps[index].psn;
    attr.max_rd_atomic = static_cast<uint8_t>(std::max(1, selection_.device_attr.max_qp_rd_atom));
    if (int err = ibv_modify_qp(qp, &attr,
                                IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
                                    IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
        err != 0)
      return verbs_errno(err, "ibv_modify_qp to RTS" + which, FB_HERE);
  }
  if (settings_.rdma_cm) FB_TRY(connect_with_cm(infos));
  // A QP that is not yet RTR drops what arrives; nobody sends before every QP is ready.
  return bootstrap_.barrier();
}

// A rank's QP to itself has no peer to meet and stays connected as above; the others go
// through the CM, one QP per peer (rdma_cm refuses qps > 1).
Status VerbsContext::connect_with_cm(const std::vector<ConnectionInfo>& infos) {
  std::vector<ibv_qp*> qps;
  std::vector<CmAddress> addresses;
  for (int peer = 0; peer < size(); ++peer) {
    qps.push_back(lane(peer, 0).qp.get());
    addresses.push_back(CmAddress{infos[peer].cm_ip, infos[peer].cm_port});
  }
  CmQpSettings qp_settings;
  qp_settings.path_mtu = path_mtu_;
  qp_settings.ack_timeout = settings_.ack_timeout;
  qp_settings.retry_count = settings_.retry_count;
  qp_settings.rnr_retry = kRnrRetryInfinite;
  qp_settings.min_rnr_timer = kMinRnrTimer;
  qp_settings.traffic_class = settings_.traffic_class;
  qp_settings.service_level = settings_.service_level;
  qp_settings.rd_atomic = static_cast<uint8_t>(std::clamp(selection_.device_attr.max_qp_rd_atom, 1, 255));
  return cm_->connect_all(qps, addresses, qp_settings, Deadline::after(options_.timeout))
      .with_context("rank " + std::to_string(rank()));
}

// Per peer: the local RoCEv2 IPv4 GID whose address the host routes from towards one of the
// peer's (so a rank with several NICs or addresses uses the one that reaches that peer), or
// the default GIDs when a GID was forced, on InfiniBand, or when no route matches.
void VerbsContext::choose_gids(const std::vector<ConnectionInfo>& infos) {
  std::map<std::array<uint8_t, 4>, std::optional<std::array<uint8_t, 4>>> routes;
  const RouteSource cached = [&](const std::array<uint8_t, 4>& to) {
    auto [it, inserted] = routes.try_emplace(to);
    if (inserted) it->second = route_source(to);
    return it->second;
  };
  gid_choice_ = settings_.gid_index ? "forced (gid_index)"
                : settings_.ip      ? "forced (ip)"
                : selection_.candidates.empty() ? "default (first usable GID)"
                                                : "by route to each peer";
  int unrouted = 0;
  peer_gids_.assign(infos.size(), PeerGid{selection_.gid, {}, false});
  for (size_t peer = 0; peer < infos.size(); ++peer) {
    PeerGid& g = peer_gids_[peer];
    g.remote = infos[peer].gid;
    // A rank's QP to itself stays on its own device: no route to ask (in the two-host lab
    // one namespace routes a host's own address out of the other host's link).
    if (static_cast<int>(peer) == rank() || selection_.candidates.empty() || infos[peer].candidates.empty())
      continue;
    if (auto choice = choose_by_route(selection_.candidates, infos[peer].candidates, cached)) {
      g.local = choice->local;
      g.remote = choice->remote;
      g.by_route = true;
    } else {
      ++unrouted;
    }
  }
  if (unrouted > 0)
    gid_choice_ += " (" + std::to_string(unrouted) + " peer(s) without a matching route: default GID)";
}

// "rxe0 port 1 GID 3 ::ffff:10.99.0.1 RoCEv2 on rxenet0 to ranks 0,1 (by route)"; one entry
// per distinct local GID.
std::string VerbsContext::gid_summary() const {
  std::map<int, std::vector<int>> by_gid;
  for (size_t peer = 0; peer < peer_gids_.size(); ++peer)
    by_gid[peer_gids_[peer].local.index].push_back(static_cast<int>(peer));
  std::string out;
  for (const auto& [index, peers] : by_gid) {
    const GidEntry& e = peer_gids_[peers.front()].local;
    if (!out.empty()) out += "; ";
    out += selection_.name + " port " + std::to_string(selection_.port) + " GID " +
           std::to_string(index) + " " + gid_to_string(e.gid) + " " + to_string(e.type) + " on " +
           (e.netdev.empty() ? "-" : e.netdev) + " to ";
    if (peers.size() > 8) {
      out += std::to_string(peers.size()) + " ranks";
    } else {
      out += "rank" + std::string(peers.size() > 1 ? "s " : " ");
      for (size_t i = 0; i < peers.size(); ++i) {
        if (i > 0) out += ',';
        out += std::to_string(peers[i]);
      }
    }
  }
  return out + " (" + gid_choice_ + ")";
}

// ------------------------------------------------------------------------------- operations

Expected<Endpoint*> VerbsContext::connect(int peer) {
  if (peer < 0 || peer >= size())
    return Status::error(StatusCode::kInvalidArgument,
                         "no rank " + std::to_string(peer) + " in a job of " + std::to_string(size()) + " ranks",
                         FB_HERE);
  if (closed_)
    return Status::error(StatusCode::kInvalidArgument,
                         "connect to rank " + std::to_string(peer) + " after the verbs context was closed", FB_HERE);
  return static_cast<Endpoint*>(peers_[peer].endpoint.get());
}

Expected<std::unique_ptr<MemRegion>> VerbsContext::register_memory(MemorySpan memory) {
  MrPtr mr;
  // Nothing can be put into or read from an empty region, so it needs no registration.
  if (memory.kind == MemoryKind::kCudaDevice && memory.size > 0) {
    FB_TRY_ASSIGN(mr, register_dmabuf(selection_.device->pd.get(), memory.data, memory.size, kAccess,
                                      selection_.name));
  } else if (memory.size > 0) {
    // Host and page-locked (cuda-pinned) host memory alike: ibv_reg_mr pins pages itself.
    ibv_mr* raw = ibv_reg_mr(selection_.device->pd.get(), memory.data, memory.size, kAccess);
    if (raw == nullptr)
      return verbs_errno(errno, "ibv_reg_mr of " + std::to_string(memory.size) +
                                    " bytes (is the locked-memory limit, ulimit -l, too low?)", FB_HERE);
    mr.reset(raw);
  }
  return std::unique_ptr<MemRegion>(new VerbsMemRegion(selection_.device, memory, std::move(mr)));
}

Expected<std::unique_ptr<RemoteRegion>> VerbsContext::import_region(int peer, ByteSpan packed) {
  if (peer < 0 || peer >= size())
    return Status::error(StatusCode::kInvalidArgument, "no rank " + std::to_string(peer), FB_HERE);
  FB_TRY_ASSIGN(RegionKey key, unpack_region(packed, peer));
  return std::unique_ptr<RemoteRegion>(new VerbsRemoteRegion(peer, key));
}

Status VerbsContext::check_usable() {
  if (events_->failed()) [[unlikely]]
    check_async_events();
  if (!failed_.ok()) return failed_;
  if (closed_)
    return Status::error(StatusCode::kInvalidArgument, "operation posted after the verbs context was closed",
                         FB_HERE);
  return {};
}

// Queues `op` behind what its peer already has waiting (one FIFO per peer keeps the order
// the user posted in) and puts as much as fits on the send queue now.
Expected<Request> VerbsContext::submit(Op* op) {
  if (Status usable = check_usable(); !usable.ok()) {
    delete op;
    return usable;
  }
  Peer& p = peers_[op->peer];
  // put_imm stays on lane 0, whose receives its notifications consume in order.
  if (op->kind == Op::Kind::kPut || op->kind == Op::Kind::kGet) {
    op->lane = p.next_lane;
    p.next_lane = p.next_lane + 1 == settings_.qps ? 0 : p.next_lane + 1;
  }
  if (p.backlog.empty()) ++peers_with_backlog_;
  p.backlog.push_back(op);
  FB_TRY(pump(op->peer));
  // A send whose bytes are all in send slots is complete: the user's buffer is free again.
  if (op->done && op->error.ok()) {
    delete op;
    return Request{};
  }
  return Request{op};
}

Status VerbsContext::pump(int peer) {
  Peer& p = peers_[peer];
  while (!p.backlog.empty()) {
    Op& op = *p.backlog.front();
    if (op.kind == Op::Kind::kSend) {
      if (free_send_slots_.empty() || lane(peer, 0).sq_free == 0) break;
      FB_TRY(post_send_chunk(op));
      if (!op.done) continue;
    } else if (op.kind == Op::Kind::kFlush) {
      // One zero-length READ per lane: each covers the puts before it on its own QP only.
      while (op.wrs_posted < settings_.qps && lane(peer, op.wrs_posted).sq_free > 0) FB_TRY(post_op(op));
      if (op.wrs_posted < settings_.qps) break;
    } else {
      if (lane(peer, op.lane).sq_free == 0) break;
      FB_TRY(post_op(op));
    }
    p.backlog.pop_front();
    if (p.backlog.empty()) --peers_with_backlog_;
  }
  return {};
}

// Every cq_mod-th WR asks for a completion, and so does the one that takes a queue's last
// free entry: a full queue must have a completion coming that frees it.
bool VerbsContext::take_signal(Lane& l) {
  if (++l.unsignaled < settings_.cq_mod && l.sq_free > 1) return false;
  l.unsignaled = 0;
  return true;
}

Status VerbsContext::post_wr(Lane& l, ibv_send_wr& wr, uint64_t what, const std::string& what_text) {
  const bool signaled = take_signal(l);
  wr.wr_id = (static_cast<uint64_t>(&l - lanes_.data()) << 2) | kWrLane;
  if (signaled) wr.send_flags |= IBV_SEND_SIGNALED;
  ibv_send_wr* bad = nullptr;
  if (int err = ibv_post_send(l.qp.get(), &wr, &bad); err != 0)
    return verbs_errno(err, "ibv_post_send (" + what_text + " to rank " + std::to_string(l.peer) + ", QP " +
                                std::to_string(l.qp->qp_num) + ")", FB_HERE);
  l.inflight.push_back({what, signaled});
  --l.sq_free;
  return {};
}

Status VerbsContext::post_send_chunk(Op& op) {
  const auto chunk = static_cast<size_t>(settings_.chunk);
  const uint32_t slot = free_send_slots_.back();
  std::byte* out = send_slots_memory_.data() + size_t{slot} * chunk;
  size_t header = 0;
  if (!op.started) {
    write_header(out, MessageHeader{op.size, op.tag});
    header = kHeaderBytes;
  }
  const size_t payload = static_cast<size_t>(std::min<uint64_t>(op.size - op.copied, chunk - header));
  if (payload > 0) std::memcpy(out + header, op.source + op.copied, payload);
  ibv_sge sge{};
  sge.addr = reinterpret_cast<uint64_t>(out);
  sge.length = static_cast<uint32_t>(header + payload);
  sge.lkey = send_mr_->lkey;
  ibv_send_wr wr{};
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = IBV_WR_SEND;
  if (sge.length <= static_cast<uint32_t>(settings_.max_inline)) wr.send_flags |= IBV_SEND_INLINE;
  Lane& l = lane(op.peer, 0);
  // The last free slot: its completion must come, or the slots held by unsignaled SENDs stay.
  if (free_send_slots_.size() == 1) l.unsignaled = settings_.cq_mod;
  FB_TRY(post_wr(l, wr, slot_wr_id(slot, kWrSendSlot), "SEND"));
  free_send_slots_.pop_back();
  op.started = true;
  op.copied += payload;
  if (op.copied == op.size) op.done = true;
  return {};
}

Status VerbsContext::post_op(Op& op) {
  ibv_sge sge{};
  ibv_send_wr wr{};
  wr.wr.rdma.remote_addr = op.remote_address;
  wr.wr.rdma.rkey = op.rkey;
  const bool writes = op.kind == Op::Kind::kPut || op.kind == Op::Kind::kPutImm;
  if (op.size > 0) {
    sge.addr = reinterpret_cast<uint64_t>(writes ? op.source : op.target);
    sge.length = static_cast<uint32_t>(op.size);
    sge.lkey = op.lkey;
    wr.sg_list = &sge;
    wr.num_sge = 1;
  }
  wr.opcode = op.kind == Op::Kind::kPut      ? IBV_WR_RDMA_WRITE
              : op.kind == Op::Kind::kPutImm ? IBV_WR_RDMA_WRITE_WITH_IMM
                                             : IBV_WR_RDMA_READ;
  if (op.kind == Op::Kind::kPutImm) wr.imm_data = htonl(op.imm);
  if (writes && op.size <= static_cast<uint64_t>(settings_.max_inline))
    wr.send_flags |= IBV_SEND_INLINE;
  Lane& l = lane(op.peer, op.kind == Op::Kind::kFlush ? op.wrs_posted : op.lane);
  if (op.kind == Op::Kind::kFlush) l.unsignaled = settings_.cq_mod;  // a flush is always waited for
  FB_TRY(post_wr(l, wr, reinterpret_cast<uint64_t>(&op) | kWrOp, op_name(op.kind)));
  ++op.wrs_posted;
  ++op.wrs_pending;
  return {};
}

// The last WR on `l` asked for no completion: post a zero-length READ that does, so that
// everything before it is retired (cq_mod > 1 only; someone is waiting for those WRs).
Status VerbsContext::signal_tail(Lane& l) {
  if (l.inflight.empty() || l.inflight.back().signaled) return {};
  ibv_send_wr wr{};
  wr.opcode = IBV_WR_RDMA_READ;
  l.unsignaled = settings_.cq_mod;
  return post_wr(l, wr, kWrSignal, "completion request (zero-length RDMA READ)");
}

// Send slots are shared by all peers, so a SEND waiting for one may wait on any lane.
Status VerbsContext::signal_all() {
  if (settings_.cq_mod == 1) return {};
  for (Lane& l : lanes_) FB_TRY(signal_tail(l));
  return {};
}

// Retires the oldest WRs of `l` up to its first signaled one: a completion on an RC QP means
// every WR posted before it on that QP has completed too.
void VerbsContext::retire(Lane& l, bool through_signaled) {
  while (!l.inflight.empty()) {
    const Inflight entry = l.inflight.front();
    l.inflight.pop_front();
    ++l.sq_free;
    const uint64_t kind = entry.what & 3;
    if (kind == kWrSendSlot) {
      free_send_slots_.push_back(static_cast<uint32_t>(entry.what >> 2));
    } else if (kind == kWrOp) {
      Op* op = reinterpret_cast<Op*>(entry.what);
      const int needed = op->kind == Op::Kind::kFlush ? settings_.qps : 1;
      if (--op->wrs_pending == 0 && op->wrs_posted == needed) op->done = true;
    }
    if (entry.what == kWrProbe) peers_[l.peer].probing = false;
    if (entry.signaled || !through_signaled) return;
  }
}

Expected<Request> VerbsEndpoint::send(const void* data, size_t bytes, uint32_t tag) {
  auto* op = new Op{.kind = Op::Kind::kSend, .peer = peer_, .tag = tag};
  op->source = static_cast<const std::byte*>(data);
  op->size = bytes;
  return context_.submit(op);
}

Expected<Request> VerbsEndpoint::recv(void* data, size_t bytes, uint32_t tag) {
  return context_.post_recv(peer_, data, bytes, tag);
}

Expected<Op*> VerbsEndpoint::one_sided(Op::Kind kind, void* data, size_t bytes, const MemRegion& local,
                                       const RemoteRegion& remote, size_t remote_offset) {
  FB_TRY(check_remote_range(remote, remote_offset, bytes));
  const auto& region = static_cast<const VerbsMemRegion&>(local);
  if (!region.contains(data, bytes))
    return Status::error(StatusCode::kInvalidArgument,
                         std::string(kind == Op::Kind::kGet ? "get target" : "put source") +
                             " is outside its registered region",
                         FB_HERE);
  const auto& key = static_cast<const VerbsRemoteRegion&>(remote).key();
  auto* op = new Op{.kind = kind, .peer = peer_};
  op->source = static_cast<const std::byte*>(data);
  op->target = static_cast<std::byte*>(data);
  op->size = bytes;
  op->remote_address = key.address + remote_offset;
  op->rkey = key.rkey;
  op->lkey = region.lkey();
  return op;
}

Expected<Request> VerbsEndpoint::put(const void* data, size_t bytes, const MemRegion& local,
                                     const RemoteRegion& remote, size_t remote_offset) {
  if (bytes == 0) {
    FB_TRY(check_remote_range(remote, remote_offset, bytes));
    return Request{};
  }
  FB_TRY_ASSIGN(Op * op, one_sided(Op::Kind::kPut, const_cast<void*>(data), bytes, local, remote, remote_offset));
  return context_.submit(op);
}

Expected<Request> VerbsEndpoint::get(void* data, size_t bytes, const MemRegion& local,
                                     const RemoteRegion& remote, size_t remote_offset) {
  if (bytes == 0) {
    FB_TRY(check_remote_range(remote, remote_offset, bytes));
    return Request{};
  }
  FB_TRY_ASSIGN(Op * op, one_sided(Op::Kind::kGet, data, bytes, local, remote, remote_offset));
  return context_.submit(op);
}

// A zero-byte put_imm still goes on the wire: the notification is its point.
Expected<Request> VerbsEndpoint::put_imm(const void* data, size_t bytes, const MemRegion& local,
                                         const RemoteRegion& remote, size_t remote_offset, uint32_t imm) {
  FB_TRY_ASSIGN(Op * op, one_sided(Op::Kind::kPutImm, const_cast<void*>(data), bytes, local, remote, remote_offset));
  op->imm = imm;
  return context_.submit(op);
}

Expected<Request> VerbsEndpoint::recv_imm(uint32_t* imm) { return context_.post_recv_imm(peer_, imm); }

// A zero-length RDMA READ behind the puts: the responder executes an RC QP's requests in
// order and answers a READ only after the WRITEs before it were handed to its memory, and a
// PCIe read response cannot pass the posted writes before it; so the READ's completion means
// every earlier put is visible to the peer's CPU. A WRITE's own ACK promises less: that the
// data will be placed, which a NIC may acknowledge while it still holds the data.
Expected<Request> VerbsEndpoint::flush() {
  return context_.submit(new Op{.kind = Op::Kind::kFlush, .peer = peer_});
}

Expected<Request> VerbsContext::post_recv(int peer, void* data, size_t bytes, uint32_t tag) {
  FB_TRY(check_usable());
  Peer& p = peers_[peer];
  for (auto it = p.unexpected.begin(); it != p.unexpected.end(); ++it) {
    if (it->tag != tag || it->claimed != nullptr || it->discard) continue;
    if (it->size > bytes) {
      Status error = truncated(it->size, bytes, peer, tag);
      if (it->complete) p.unexpected.erase(it);
      else it->discard = true;
      return error;
    }
    if (it->complete) {
      if (it->size > 0) std::memcpy(data, it->data.data(), it->size);
      p.unexpected.erase(it);
      return Request{};
    }
    auto* op = new Op{.kind = Op::Kind::kRecv, .peer = peer, .tag = tag};
    op->target = static_cast<std::byte*>(data);
    op->size = bytes;
    it->claimed = op;
    return Request{op};
  }
  auto* op = new Op{.kind = Op::Kind::kRecv, .peer = peer, .tag = tag};
  op->target = static_cast<std::byte*>(data);
  op->size = bytes;
  p.posted_recvs.push_back(op);
  return Request{op};
}

Expected<Request> VerbsContext::post_recv_imm(int peer, uint32_t* imm) {
  FB_TRY(check_usable());
  Peer& p = peers_[peer];
  if (!p.imms.empty()) {
    *imm = p.imms.front();
    p.imms.pop_front();
    return Request{};
  }
  auto* op = new Op{.kind = Op::Kind::kRecvImm, .peer = peer};
  op->imm_out = imm;
  p.imm_recvs.push_back(op);
  return Request{op};
}

// ------------------------------------------------------------------------------ completions

Status VerbsContext::progress() {
  FB_TRY(poll());
  return failed_;
}

Status VerbsContext::poll() {
  if (events_->failed()) [[unlikely]]
    check_async_events();
  ibv_wc wcs[kPollBatch];
  for (;;) {
    const int n = ibv_poll_cq(cq_.get(), kPollBatch, wcs);
    if (n < 0) return verbs_errno(EIO, "ibv_poll_cq", FB_HERE);
    if (n > 0) {
      active_since_check_ = true;
    } else if (++idle_polls_ % kIdlePollsPerCheck == 0) [[unlikely]] {
      FB_TRY(probe_silent_peers());
    }
    for (int i = 0; i < n; ++i) FB_TRY(handle_completion(wcs[i]));
    if (peers_with_backlog_ > 0) {
      for (int peer = 0; peer < size(); ++peer)
        if (!peers_[peer].backlog.empty()) FB_TRY(pump(peer));
      if (free_send_slots_.empty()) FB_TRY(signal_all());
    }
    if (n < kPollBatch) return {};
  }
}

Status VerbsContext::handle_completion(const ibv_wc& wc) {
  if (wc.status != IBV_WC_SUCCESS) [[unlikely]]
    return completion_error(wc);
  const uint64_t kind = wc.wr_id & 3;
  if (kind == kWrRecvSlot) {
    const auto slot = static_cast<uint32_t>(wc.wr_id >> 2);
    const int peer = static_cast<int>(slot / settings_.recv_depth);
    if (wc.opcode == IBV_WC_RECV_RDMA_WITH_IMM) {
      // A put_imm consumed this receive; its data went to the user's region, not the slot.
      Peer& p = peers_[peer];
      const uint32_t imm = ntohl(wc.imm_data);
      if (p.imm_recvs.empty()) {
        p.imms.push_back(imm);
      } else {
        Op* op = p.imm_recvs.front();
        p.imm_recvs.pop_front();
        *op->imm_out = imm;
        op->done = true;
      }
      return post_recv_slot(slot);
    }
    FB_TRY(handle_chunk(peer, recv_slots_memory_.data() + size_t{slot} * settings_.chunk, wc.byte_len));
    return post_recv_slot(slot);
  }
  retire(lanes_[wc.wr_id >> 2], true);
  return {};
}

void VerbsContext::check_async_events() {
  if (failed_.ok()) failed_ = events_->error().with_context("rank " + std::to_string(rank()));
}

// Waits this rank cannot finish without the peer doing something: its messages or put_imm
// notifications. (Its own SENDs, puts and gets are retried by the QP and fail on their own.)
bool VerbsContext::waits_for(const Peer& p) const {
  if (!p.posted_recvs.empty() || !p.imm_recvs.empty() || p.incoming.active) return true;
  for (const Unexpected& u : p.unexpected)
    if (u.claimed != nullptr) return true;
  return false;
}

Status VerbsContext::probe_silent_peers() {
  const Clock::time_point now = Clock::now();
  if (active_since_check_ || !failed_.ok() || closed_) {
    active_since_check_ = false;
    last_check_ = now;
    return {};
  }
  if (now - last_check_ < kProbeAfter) return {};
  last_check_ = now;
  for (int peer = 0; peer < size(); ++peer) {
    Peer& p = peers_[peer];
    Lane& l = lane(peer, 0);
    if (peer == rank() || p.probing || l.sq_free == 0 || !waits_for(p)) continue;
    ibv_send_wr wr{};
    wr.opcode = IBV_WR_RDMA_READ;
    l.unsignaled = settings_.cq_mod;
    FB_TRY(post_wr(l, wr, kWrProbe, "liveness probe (zero-length RDMA READ)"));
    p.probing = true;
  }
  return {};
}

// A failed work request moves its QP to the error state, which flushes everything else on
// it: the first error is the one to report, and the context cannot be used afterwards.
Status VerbsContext::completion_error(const ibv_wc& wc) {
  const uint64_t kind = wc.wr_id & 3;
  int peer = -1;
  std::string what;
  Op* op = nullptr;
  if (kind == kWrRecvSlot) {
    peer = static_cast<int>((wc.wr_id >> 2) / settings_.recv_depth);
    what = "receive into a bounce buffer";
  } else {
    // A failed or flushed WR completes whether or not it was signaled: it is the oldest.
    Lane& l = lanes_[wc.wr_id >> 2];
    peer = l.peer;
    what = "send-queue work request";
    if (!l.inflight.empty()) {
      const uint64_t entry = l.inflight.front().what;
      if ((entry & 3) == kWrSendSlot) what = "SEND";
      if (entry == kWrSignal) what = "completion request (zero-length RDMA READ)";
      if (entry == kWrProbe)
        what = "liveness probe (zero-length RDMA READ: rank " + std::to_string(peer) +
               " had been silent while this rank waited for it)";
      if ((entry & 3) == kWrOp) {
        op = reinterpret_cast<Op*>(entry);
        what = op_name(op->kind);
      }
      retire(l, false);
    }
  }
  std::string hint;
  if (wc.status == IBV_WC_RETRY_EXC_ERR)
    hint = ": rank " + std::to_string(peer) +
           " stopped answering (its process exited or hangs without a QP, or its host or link is down)";
  else if (wc.status == IBV_WC_REM_ACCESS_ERR)
    hint = ": the peer's region rejected the access (rkey, bounds or permissions)";
  Status error = Status::native("verbs", wc.status, ibv_wc_status_str(wc.status),
                                what + " on " + selection_.name + " QP " + std::to_string(wc.qp_num) + " to rank " +
                                    std::to_string(peer) + " (vendor error " + std::to_string(wc.vendor_err) + ")" +
                                    hint,
                                FB_HERE)
                     .with_context("rank " + std::to_string(rank()));
  if (op != nullptr) {
    op->error = error;
    op->done = op->done || op->kind != Op::Kind::kFlush;
  }
  if (failed_.ok() || failed_.native_code() == IBV_WC_WR_FLUSH_ERR) failed_ = error;
  return {};
}

Status VerbsContext::handle_chunk(int peer, const std::byte* data, size_t length) {
  Peer& p = peers_[peer];
  Incoming& in = p.incoming;
  if (!in.active) {
    FB_TRY_ASSIGN(MessageHeader header, read_header(data, length, peer));
    data += kHeaderBytes;
    length -= kHeaderBytes;
    in = Incoming{.active = true, .tag = header.tag, .size = header.size};
    auto match = std::find_if(p.posted_recvs.begin(), p.posted_recvs.end(),
                              [&](const Op* op) { return op->tag == header.tag; });
    if (match != p.posted_recvs.end()) {
      Op* op = *match;
      p.posted_recvs.erase(match);
      if (header.size > op->size) {
        op->error = truncated(header.size, op->size, peer, header.tag);
        op->done = true;
      } else {
        in.target = op->target;
        in.recv = op;
      }
    } else {
      Unexpected& stash = p.unexpected.emplace_back();
      stash.tag = header.tag;
      stash.size = header.size;
      stash.data.resize(header.size);
      in.stash = &stash;
      in.target = stash.data.data();
    }
  }
  if (length > in.size - in.received)
    return Status::error(StatusCode::kProtocol,
                         "rank " + std::to_string(peer) + " sent more bytes than its message header announced",
                         FB_HERE);
  if (in.target != nullptr && length > 0) std::memcpy(in.target + in.received, data, length);
  in.received += length;
  if (in.received < in.size) return {};
  if (in.recv != nullptr) in.recv->done = true;
  if (Unexpected* stash = in.stash) {
    stash->complete = true;
    if (Op* op = stash->claimed) {
      if (stash->size > 0) std::memcpy(op->target, stash->data.data(), stash->size);
      op->done = true;
    }
    if (stash->claimed != nullptr || stash->discard)
      p.unexpected.remove_if([stash](const Unexpected& u) { return &u == stash; });
  }
  in = Incoming{};
  return {};
}

Expected<bool> VerbsContext::test(Request& request) {
  if (request.handle == nullptr) return true;
  FB_TRY(poll());
  auto* op = static_cast<Op*>(request.handle);
  if (!op->done) {
    if (!failed_.ok()) return failed_;
    // Someone waits for it: with cq_mod its WRs may have asked for no completion.
    if (settings_.cq_mod > 1 && op->kind != Op::Kind::kRecv && op->kind != Op::Kind::kRecvImm)
      FB_TRY(signal_all());
    return false;
  }
  Status error = std::move(op->error);
  delete op;
  request.handle = nullptr;
  if (!error.ok()) return error;
  return true;
}

Status VerbsContext::wait_for_activity(const Deadline& deadline) {
  FB_TRY(signal_all());
  // Arm, then look once more: a completion that arrived before arming raises no event, so
  // sleeping without this look could miss it (until kMaxSleepMs). An event left by an earlier
  // arming only wakes the sleep below early; it is acknowledged there.
  if (int err = ibv_req_notify_cq(cq_.get(), 0); err != 0) return verbs_errno(err, "ibv_req_notify_cq", FB_HERE);
  ibv_wc wc;
  const int n = ibv_poll_cq(cq_.get(), 1, &wc);
  if (n < 0) return verbs_errno(EIO, "ibv_poll_cq", FB_HERE);
  if (n == 1) {
    FB_TRY(handle_completion(wc));
    return {};
  }
  FB_TRY(probe_silent_peers());
  pollfd fd{.fd = channel_->fd, .events = POLLIN, .revents = 0};
  const int ready = ::poll(&fd, 1, std::min(deadline.poll_timeout_ms(), kMaxSleepMs));
  if (ready < 0 && errno != EINTR) return Status::from_errno(errno, "poll on the verbs completion channel", FB_HERE);
  ibv_cq* cq = nullptr;
  void* cq_context = nullptr;
  // Acknowledge every event now: destroying the CQ waits for unacknowledged ones.
  while (ibv_get_cq_event(channel_.get(), &cq, &cq_context) == 0) ibv_ack_cq_events(cq, 1);
  return {};
}

// -------------------------------------------------------------------------------- closing

Status VerbsContext::drain(const Deadline& deadline) {
  for (;;) {
    FB_TRY(poll());
    if (!failed_.ok()) return failed_;
    FB_TRY(signal_all());
    bool idle = peers_with_backlog_ == 0;
    for (const Lane& l : lanes_) idle = idle && l.sq_free == settings_.sq_depth;
    if (idle) return {};
    if (deadline.expired())
      return Status::error(StatusCode::kTimeout,
                           "rank " + std::to_string(rank()) + ": verbs operations still in flight after " +
                               std::to_string(deadline.budget().count()) + " ms at close()",
                           FB_HERE);
    sched_yield();
  }
}

// Peers may still be sending to this rank while it waits in the barrier: its receive bounce
// buffers must keep being reposted or their SENDs would stall on receiver-not-ready. The
// helper thread is the context's only user until it is joined.
Status VerbsContext::barrier_while_progressing() {
  std::atomic<bool> done{false};
  std::thread helper([this, &done] {
    while (!done.load(std::memory_order_acquire)) {
      (void)poll();
      sched_yield();
    }
  });
  Status status = bootstrap_.barrier();
  done.store(true, std::memory_order_release);
  helper.join();
  return status;
}

// Finish what this rank posted (every SEND acknowledged by its peer's NIC), then wait for
// every rank to have done the same; afterwards nothing is in flight towards any QP and they
// can be destroyed.
Status VerbsContext::close() {
  if (closed_) return {};
  closed_ = true;
  Status drained = drain(Deadline::after(options_.timeout));
  Status synced = barrier_while_progressing();
  FB_TRY(drained);
  return synced;
}

}  // namespace fb::verbs
