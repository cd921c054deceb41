#include "verbs_context.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <thread>

namespace fb::verbs {
namespace {

// wr_id: an Op pointer (8-byte aligned, low bits 0), or a bounce slot index shifted left by
// two with the slot kind in the low bits.
constexpr uint64_t kWrOp = 0;
constexpr uint64_t kWrSendSlot = 1;
constexpr uint64_t kWrRecvSlot = 2;
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
  if (options_.progress == ProgressMode::kEvent) {
    ibv_comp_channel* channel = ibv_create_comp_channel(device);
    if (channel == nullptr) return verbs_errno(errno, "ibv_create_comp_channel", FB_HERE);
    channel_.reset(channel);
    const int flags = fcntl(channel->fd, F_GETFL);
    if (flags < 0 || fcntl(channel->fd, F_SETFL, flags | O_NONBLOCK) < 0)
      return Status::from_errno(errno, "fcntl O_NONBLOCK on the completion channel", FB_HERE);
  }
  const int cq_size = std::min(ranks * (settings_.sq_depth + settings_.recv_depth) + 16,
                               selection_.device_attr.max_cqe);
  ibv_cq* cq = ibv_create_cq(device, cq_size, nullptr, channel_.get(), 0);
  if (cq == nullptr) return verbs_errno(errno, "ibv_create_cq of " + std::to_string(cq_size) + " entries", FB_HERE);
  cq_.reset(cq);
  if (channel_) {
    if (int err = ibv_req_notify_cq(cq, 0); err != 0) return verbs_errno(err, "ibv_req_notify_cq", FB_HERE);
  }

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
  send_slot_peer_.assign(send_slots, -1);

  peers_.resize(ranks);
  for (int peer = 0; peer < ranks; ++peer) {
    ibv_qp_init_attr init{};
    init.send_cq = cq;
    init.recv_cq = cq;
    init.qp_type = IBV_QPT_RC;
    init.cap.max_send_wr = settings_.sq_depth;
    init.cap.max_recv_wr = settings_.recv_depth;
    init.cap.max_send_sge = 1;
    init.cap.max_recv_sge = 1;
    init.cap.max_inline_data = settings_.max_inline;
    ibv_qp* qp = ibv_create_qp(pd, &init);
    if (qp == nullptr)
      return verbs_errno(errno, "ibv_create_qp (RC, " + std::to_string(settings_.sq_depth) +
                                    " send WRs) for rank " + std::to_string(peer), FB_HERE);
    peers_[peer].qp.reset(qp);
    peers_[peer].sq_free = settings_.sq_depth;
    peers_[peer].endpoint = std::make_unique<VerbsEndpoint>(*this, peer);

    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_INIT;
    attr.pkey_index = 0;
    attr.port_num = static_cast<uint8_t>(selection_.port);
    attr.qp_access_flags = kAccess;
    if (int err = ibv_modify_qp(qp, &attr, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
        err != 0)
      return verbs_errno(err, "ibv_modify_qp to INIT (QP for rank " + std::to_string(peer) + ")", FB_HERE);
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
  if (int err = ibv_post_recv(peers_[peer].qp.get(), &wr, &bad); err != 0)
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
  std::random_device random;
  for (int peer = 0; peer < ranks; ++peer)
    mine.qps.push_back({peers_[peer].qp->qp_num, random() & 0xffffff});
  FB_TRY_ASSIGN(std::vector<Bytes> all, bootstrap_.allgather(pack(mine)));
  std::vector<ConnectionInfo> infos;
  for (int peer = 0; peer < ranks; ++peer) {
    FB_TRY_ASSIGN(ConnectionInfo info, unpack_connection(all[peer], peer));
    if (static_cast<int>(info.qps.size()) != ranks || info.link_layer != mine.link_layer)
      return Status::error(StatusCode::kProtocol,
                           "rank " + std::to_string(peer) + "'s verbs connection info does not match this job (" +
                               std::to_string(info.qps.size()) + " QPs, link layer " +
                               std::to_string(info.link_layer) + ")",
                           FB_HERE);
    infos.push_back(std::move(info));
  }
  path_mtu_ = mine.mtu;
  for (const auto& info : infos) path_mtu_ = std::min<int>(path_mtu_, info.mtu);
  if (settings_.mtu) path_mtu_ = std::min(path_mtu_, mtu_enum(settings_.mtu));

  const bool ethernet = mine.link_layer == IBV_LINK_LAYER_ETHERNET;
  for (int peer = 0; peer < ranks; ++peer) {
    const ConnectionInfo& remote = infos[peer];
    ibv_qp* qp = peers_[peer].qp.get();
    const std::string which = " (QP " + std::to_string(qp->qp_num) + " to rank " + std::to_string(peer) + ")";
    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_RTR;
    attr.path_mtu = static_cast<ibv_mtu>(path_mtu_);
    attr.dest_qp_num = remote.qps[rank()].qpn;
    attr.rq_psn = remote.qps[rank()].psn;
    attr.max_dest_rd_atomic = static_cast<uint8_t>(std::max(1, selection_.device_attr.max_qp_rd_atom));
    attr.min_rnr_timer = kMinRnrTimer;
    attr.ah_attr.port_num = static_cast<uint8_t>(selection_.port);
    attr.ah_attr.sl = static_cast<uint8_t>(settings_.service_level);
    attr.ah_attr.dlid = remote.lid;
    if (ethernet) {
      attr.ah_attr.is_global = 1;
      std::memcpy(attr.ah_attr.grh.dgid.raw, remote.gid.data(), 16);
      attr.ah_attr.grh.sgid_index = static_cast<uint8_t>(selection_.gid.index);
      attr.ah_attr.grh.hop_limit = 64;
      attr.ah_attr.grh.traffic_class = static_cast<uint8_t>(settings_.traffic_class);
    }
    if (int err = ibv_modify_qp(qp, &attr,
                                IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                                    IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
        err != 0)
      return verbs_errno(err, "ibv_modify_qp to RTR" + which + ", GID index " +
                                  std::to_string(selection_.gid.index), FB_HERE);
    attr = {};
    attr.qp_state = IBV_QPS_RTS;
    attr.timeout = static_cast<uint8_t>(settings_.ack_timeout);
    attr.retry_cnt = static_cast<uint8_t>(settings_.retry_count);
    attr.rnr_retry = kRnrRetryInfinite;
    attr.sq_psn = mine.qps[peer].psn;
    attr.max_rd_atomic = static_cast<uint8_t>(std::max(1, selection_.device_attr.max_qp_rd_atom));
    if (int err = ibv_modify_qp(qp, &attr,
                                IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
                                    IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
        err != 0)
      return verbs_errno(err, "ibv_modify_qp to RTS" + which, FB_HERE);
  }
  // A QP that is not yet RTR drops what arrives; nobody sends before every QP is ready.
  return bootstrap_.barrier();
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
  if (memory.kind != MemoryKind::kHost)
    return Status::error(StatusCode::kUnsupported,
                         "the verbs transport registers host memory only (asked for " +
                             std::string(to_string(memory.kind)) + ")",
                         FB_HERE);
  MrPtr mr;
  // Nothing can be put into or read from an empty region, so it needs no registration.
  if (memory.size > 0) {
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

Status VerbsContext::check_usable() const {
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
  while (!p.backlog.empty() && p.sq_free > 0) {
    Op& op = *p.backlog.front();
    if (op.kind == Op::Kind::kSend) {
      if (free_send_slots_.empty()) break;
      FB_TRY(post_send_chunk(p, op));
      if (!op.done) continue;
    } else {
      FB_TRY(post_op(p, op));
    }
    p.backlog.pop_front();
    if (p.backlog.empty()) --peers_with_backlog_;
  }
  return {};
}

Status VerbsContext::post_send_chunk(Peer& p, Op& op) {
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
  wr.wr_id = slot_wr_id(slot, kWrSendSlot);
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = IBV_WR_SEND;
  wr.send_flags = IBV_SEND_SIGNALED;
  if (sge.length <= static_cast<uint32_t>(settings_.max_inline)) wr.send_flags |= IBV_SEND_INLINE;
  ibv_send_wr* bad = nullptr;
  if (int err = ibv_post_send(p.qp.get(), &wr, &bad); err != 0)
    return verbs_errno(err, "ibv_post_send (SEND to rank " + std::to_string(op.peer) + ", QP " +
                                std::to_string(p.qp->qp_num) + ")", FB_HERE);
  free_send_slots_.pop_back();
  send_slot_peer_[slot] = op.peer;
  --p.sq_free;
  op.started = true;
  op.copied += payload;
  if (op.copied == op.size) op.done = true;
  return {};
}

Status VerbsContext::post_op(Peer& p, Op& op) {
  ibv_sge sge{};
  ibv_send_wr wr{};
  wr.wr_id = reinterpret_cast<uint64_t>(&op) | kWrOp;
  wr.send_flags = IBV_SEND_SIGNALED;
  wr.wr.rdma.remote_addr = op.remote_address;
  wr.wr.rdma.rkey = op.rkey;
  if (op.size > 0) {
    sge.addr = reinterpret_cast<uint64_t>(op.kind == Op::Kind::kPut ? op.source : op.target);
    sge.length = static_cast<uint32_t>(op.size);
    sge.lkey = op.lkey;
    wr.sg_list = &sge;
    wr.num_sge = 1;
  }
  wr.opcode = op.kind == Op::Kind::kPut ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ;
  if (op.kind == Op::Kind::kPut && op.size <= static_cast<uint64_t>(settings_.max_inline))
    wr.send_flags |= IBV_SEND_INLINE;
  ibv_send_wr* bad = nullptr;
  if (int err = ibv_post_send(p.qp.get(), &wr, &bad); err != 0)
    return verbs_errno(err, std::string("ibv_post_send (") + op_name(op.kind) + " to rank " +
                                std::to_string(op.peer) + ", QP " + std::to_string(p.qp->qp_num) + ")", FB_HERE);
  --p.sq_free;
  return {};
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

Expected<Request> VerbsEndpoint::put(const void* data, size_t bytes, const MemRegion& local,
                                     const RemoteRegion& remote, size_t remote_offset) {
  FB_TRY(check_remote_range(remote, remote_offset, bytes));
  const auto& region = static_cast<const VerbsMemRegion&>(local);
  if (!region.contains(data, bytes))
    return Status::error(StatusCode::kInvalidArgument, "put source is outside its registered region", FB_HERE);
  if (bytes == 0) return Request{};
  const auto& key = static_cast<const VerbsRemoteRegion&>(remote).key();
  auto* op = new Op{.kind = Op::Kind::kPut, .peer = peer_};
  op->source = static_cast<const std::byte*>(data);
  op->size = bytes;
  op->remote_address = key.address + remote_offset;
  op->rkey = key.rkey;
  op->lkey = region.lkey();
  return context_.submit(op);
}

Expected<Request> VerbsEndpoint::get(void* data, size_t bytes, const MemRegion& local,
                                     const RemoteRegion& remote, size_t remote_offset) {
  FB_TRY(check_remote_range(remote, remote_offset, bytes));
  const auto& region = static_cast<const VerbsMemRegion&>(local);
  if (!region.contains(data, bytes))
    return Status::error(StatusCode::kInvalidArgument, "get target is outside its registered region", FB_HERE);
  if (bytes == 0) return Request{};
  const auto& key = static_cast<const VerbsRemoteRegion&>(remote).key();
  auto* op = new Op{.kind = Op::Kind::kGet, .peer = peer_};
  op->target = static_cast<std::byte*>(data);
  op->size = bytes;
  op->remote_address = key.address + remote_offset;
  op->rkey = key.rkey;
  op->lkey = region.lkey();
  return context_.submit(op);
}

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

// ------------------------------------------------------------------------------ completions

Status VerbsContext::progress() {
  FB_TRY(poll());
  return failed_;
}

Status VerbsContext::poll() {
  ibv_wc wcs[kPollBatch];
  for (;;) {
    const int n = ibv_poll_cq(cq_.get(), kPollBatch, wcs);
    if (n < 0) return verbs_errno(EIO, "ibv_poll_cq", FB_HERE);
    for (int i = 0; i < n; ++i) FB_TRY(handle_completion(wcs[i]));
    if (peers_with_backlog_ > 0)
      for (int peer = 0; peer < size(); ++peer)
        if (!peers_[peer].backlog.empty()) FB_TRY(pump(peer));
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
    FB_TRY(handle_chunk(peer, recv_slots_memory_.data() + size_t{slot} * settings_.chunk, wc.byte_len));
    return post_recv_slot(slot);
  }
  if (kind == kWrSendSlot) {
    const auto slot = static_cast<uint32_t>(wc.wr_id >> 2);
    ++peers_[send_slot_peer_[slot]].sq_free;
    free_send_slots_.push_back(slot);
    return {};
  }
  Op* op = reinterpret_cast<Op*>(wc.wr_id);
  ++peers_[op->peer].sq_free;
  op->done = true;
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
  } else if (kind == kWrSendSlot) {
    const auto slot = static_cast<uint32_t>(wc.wr_id >> 2);
    peer = send_slot_peer_[slot];
    free_send_slots_.push_back(slot);
    ++peers_[peer].sq_free;
    what = "SEND";
  } else {
    op = reinterpret_cast<Op*>(wc.wr_id);
    peer = op->peer;
    ++peers_[peer].sq_free;
    what = op_name(op->kind);
  }
  Status error = Status::native("verbs", wc.status, ibv_wc_status_str(wc.status),
                                what + " on QP " + std::to_string(wc.qp_num) + " to rank " + std::to_string(peer) +
                                    " (vendor error " + std::to_string(wc.vendor_err) + ")",
                                FB_HERE)
                     .with_context("rank " + std::to_string(rank()));
  if (op != nullptr) {
    op->error = error;
    op->done = true;
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
    return false;
  }
  Status error = std::move(op->error);
  delete op;
  request.handle = nullptr;
  if (!error.ok()) return error;
  return true;
}

Status VerbsContext::wait_for_activity(const Deadline& deadline) {
  if (!channel_) return Context::wait_for_activity(deadline);
  // Re-arm, then look once more: a completion that arrived before arming raises no event.
  if (int err = ibv_req_notify_cq(cq_.get(), 0); err != 0) return verbs_errno(err, "ibv_req_notify_cq", FB_HERE);
  ibv_wc wc;
  const int n = ibv_poll_cq(cq_.get(), 1, &wc);
  if (n < 0) return verbs_errno(EIO, "ibv_poll_cq", FB_HERE);
  if (n == 1) {
    FB_TRY(handle_completion(wc));
    return {};
  }
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
    bool idle = peers_with_backlog_ == 0;
    for (const Peer& p : peers_) idle = idle && p.sq_free == settings_.sq_depth;
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
