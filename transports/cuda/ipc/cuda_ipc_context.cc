#include "cuda_ipc_context.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "cuda_status.h"

namespace fb::cuda_ipc {
namespace {

// Checking that peers are alive costs a system call each; once per this many passes is often
// enough to turn a dead peer into an error within milliseconds.
constexpr uint32_t kPassesPerLivenessCheck = 4096;

std::string handle_key(const cudaIpcMemHandle_t& handle) {
  return std::string(handle.reserved, sizeof(handle.reserved));
}

std::string rank_name(int rank) { return "rank " + std::to_string(rank); }

class IpcEndpoint final : public Endpoint {
 public:
  IpcEndpoint(CudaIpcContext& context, int peer) : context_(context), peer_(peer) {}
  int peer() const override { return peer_; }

  Expected<Request> send(const void* data, size_t bytes, uint32_t tag) override {
    return context_.post_send(peer_, data, bytes, tag);
  }
  Expected<Request> recv(void* data, size_t bytes, uint32_t tag) override {
    return context_.post_recv(peer_, data, bytes, tag);
  }
  Expected<Request> put(const void* data, size_t bytes, const MemRegion& local, const RemoteRegion& remote,
                        size_t remote_offset) override;
  Expected<Request> get(void* data, size_t bytes, const MemRegion& local, const RemoteRegion& remote,
                        size_t remote_offset) override;
  Expected<Request> flush() override { return context_.post_flush(peer_); }

 private:
  CudaIpcContext& context_;
  int peer_;
};

// What a peer needs to reach a registered region: the allocation's IPC handle and where the
// region lies in it; pid and address serve a peer in the same process (IPC cannot reopen a
// process's own memory).
struct PackedRegion {
  uint64_t magic;
  int64_t pid;
  uint64_t address;
  uint64_t offset;
  uint64_t size;
  cudaIpcMemHandle_t handle;
};
constexpr uint64_t kRegionMagic = 0x6662697072656731ull;

class IpcRegion final : public MemRegion {
 public:
  IpcRegion(MemorySpan span, PackedRegion packed) : span_(span), packed_(packed) {}
  MemorySpan span() const override { return span_; }
  Bytes pack() const override { return to_bytes(packed_); }

 private:
  MemorySpan span_;
  PackedRegion packed_;
};

class IpcRemote final : public RemoteRegion {
 public:
  IpcRemote(int peer, std::byte* base, size_t size) : peer_(peer), base_(base), size_(size) {}
  int peer() const override { return peer_; }
  size_t size() const override { return size_; }
  std::byte* base() const { return base_; }

 private:
  int peer_;
  std::byte* base_;  // in this process's address space
  size_t size_;
};

Status check_remote_range(const RemoteRegion& remote, size_t offset, size_t bytes) {
  if (offset <= remote.size() && bytes <= remote.size() - offset) return {};
  return Status::error(StatusCode::kInvalidArgument,
                       "one-sided access [" + std::to_string(offset) + ", " + std::to_string(offset + bytes) +
                           ") is outside " + rank_name(remote.peer()) + "'s " + std::to_string(remote.size()) +
                           "-byte region",
                       FB_HERE);
}

Expected<Request> IpcEndpoint::put(const void* data, size_t bytes, const MemRegion& /*local*/,
                                   const RemoteRegion& remote, size_t remote_offset) {
  FB_TRY(check_remote_range(remote, remote_offset, bytes));
  return context_.post_copy(Op::Kind::kPut, peer_, static_cast<const IpcRemote&>(remote).base() + remote_offset,
                            static_cast<const std::byte*>(data), bytes);
}

Expected<Request> IpcEndpoint::get(void* data, size_t bytes, const MemRegion& /*local*/,
                                   const RemoteRegion& remote, size_t remote_offset) {
  FB_TRY(check_remote_range(remote, remote_offset, bytes));
  return context_.post_copy(Op::Kind::kGet, peer_, static_cast<std::byte*>(data),
                            static_cast<const IpcRemote&>(remote).base() + remote_offset, bytes);
}

// The same words on both sides of a failed match, so each rank's error tells the whole story.
Status match_error(Outcome outcome, int sender, int receiver, const RecvSlot& slot) {
  const std::string from = rank_name(sender);
  const std::string to = rank_name(receiver);
  switch (outcome) {
    case Outcome::kTagMismatch:
      return Status::error(StatusCode::kProtocol,
                           from + " sent tag " + std::to_string(slot.sent_tag) + " where " + to +
                               " posted its next receive with tag " + std::to_string(slot.tag) +
                               " (messages between two ranks match in posting order)",
                           FB_HERE);
    case Outcome::kTruncated:
      return Status::error(StatusCode::kProtocol,
                           "message of " + std::to_string(slot.sent_bytes) + " bytes from " + from + " (tag " +
                               std::to_string(slot.sent_tag) + ") does not fit the " +
                               std::to_string(slot.capacity) + "-byte receive " + to + " posted",
                           FB_HERE);
    case Outcome::kCopyFailed:
      return Status::error(StatusCode::kNative,
                           from + " could not copy its message (tag " + std::to_string(slot.sent_tag) +
                               ") into " + to + "'s buffer; " + from + "'s error says why",
                           FB_HERE);
    case Outcome::kDelivered: break;
  }
  return {};
}

// Processes sharing a GPU without MPS each have their own context, and the GPU runs one
// context at a time: every hand-over between ranks (a copy, then the peer's reduce) waits for a
// context switch, which costs more than the copy up to many MiB. Said once per shared GPU, by
// its lowest rank, so the numbers are not mistaken for the copies'.
void warn_if_time_sliced(const DeviceInfo& device, int rank, bool lowest_on_device) {
  if (device.ranks_on_device < 2 || device.mps != "off" || !lowest_on_device) return;
  std::fprintf(stderr,
               "fabricbench: cuda-ipc: %d ranks share GPU %s without MPS; the GPU switches between their "
               "contexts at every step, which dominates the times below many MiB. Start MPS "
               "(nvidia-cuda-mps-control -d) to measure the copies instead (rank %d)\n",
               device.ranks_on_device, device.pci_bus_id.c_str(), rank);
}

std::string mps_state(int ordinal) {
  int enabled = 0;
  if (cudaDeviceGetAttribute(&enabled, cudaDevAttrMpsEnabled, ordinal) != cudaSuccess) {
    (void)cudaGetLastError();
    return "unknown";
  }
  return enabled ? "on" : "off";
}

}  // namespace

CudaIpcContext::CudaIpcContext(Bootstrap& bootstrap, TransportOptions options, DeviceInfo device, uint32_t slots)
    : bootstrap_(bootstrap), options_(std::move(options)), device_(std::move(device)), slots_(slots) {}

CudaIpcContext::~CudaIpcContext() { release_all(); }

Expected<std::unique_ptr<Context>> CudaIpcContext::open(Bootstrap& bootstrap, const TransportOptions& options) {
  FB_TRY_ASSIGN(const int devices, cuda::visible_device_count());
  int ordinal = bootstrap.local_rank() % devices;
  if (options.device) {
    if (*options.device < 0 || *options.device >= devices)
      return Status::error(StatusCode::kInvalidArgument,
                           "--device " + std::to_string(*options.device) + " is not a device index below " +
                               std::to_string(devices),
                           FB_HERE);
    ordinal = *options.device;
  }
  if (auto it = options.settings.find("device"); it != options.settings.end()) {
    char* end = nullptr;
    const long chosen = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || chosen < 0 || chosen >= devices)
      return Status::error(StatusCode::kInvalidArgument,
                           "cuda-ipc setting device=" + it->second + " is not a device index below " +
                               std::to_string(devices),
                           FB_HERE);
    ordinal = static_cast<int>(chosen);
  }
  uint32_t slots = 256;
  if (auto it = options.settings.find("slots"); it != options.settings.end()) {
    char* end = nullptr;
    const unsigned long chosen = std::strtoul(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || chosen < 1 || chosen > 65536)
      return Status::error(StatusCode::kInvalidArgument,
                           "cuda-ipc setting slots=" + it->second + " is not a count in [1, 65536]", FB_HERE);
    slots = static_cast<uint32_t>(chosen);
  }

  FB_TRY(cuda::status_of(cudaSetDevice(ordinal), "cudaSetDevice(" + std::to_string(ordinal) + ")", FB_HERE));
  DeviceInfo device;
  device.ordinal = ordinal;
  cudaDeviceProp properties{};
  FB_CUDA_TRY(cudaGetDeviceProperties(&properties, ordinal));
  device.name = properties.name;
  char bus_id[32] = {};
  FB_CUDA_TRY(cudaDeviceGetPCIBusId(bus_id, sizeof(bus_id), ordinal));
  device.pci_bus_id = bus_id;
  FB_CUDA_TRY(cudaDriverGetVersion(&device.driver_version));
  FB_CUDA_TRY(cudaRuntimeGetVersion(&device.runtime_version));
  device.mps = mps_state(ordinal);

  // Who is where: every rank's pid (liveness, same-process peers) and host (shared memory and
  // IPC reach this host only), and rank 0's choice of the job's segment names.
  struct Hello {
    int64_t pid;
    uint64_t nonce;
    char host[64];
    char bus_id[32];
  };
  Hello hello{::getpid(), std::random_device{}() * 0x100000001ull ^ static_cast<uint64_t>(::getpid()), {}, {}};
  ::gethostname(hello.host, sizeof(hello.host) - 1);
  std::memcpy(hello.bus_id, bus_id, sizeof(hello.bus_id));
  FB_TRY_ASSIGN(const std::vector<Hello> hellos, allgather_value(bootstrap, hello));
  std::vector<pid_t> pids;
  for (size_t r = 0; r < hellos.size(); ++r) {
    if (std::strncmp(hellos[r].host, hellos[0].host, sizeof(hello.host)) != 0)
      return Status::error(StatusCode::kUnsupported,
                           "cuda-ipc needs every rank on one host: rank 0 is on " + std::string(hellos[0].host) +
                               ", rank " + std::to_string(r) + " on " + std::string(hellos[r].host),
                           FB_HERE);
    pids.push_back(static_cast<pid_t>(hellos[r].pid));
  }
  int lowest_on_device = bootstrap.rank();
  device.ranks_on_device = 0;
  for (int r = static_cast<int>(hellos.size()) - 1; r >= 0; --r) {
    if (std::strncmp(hellos[r].bus_id, bus_id, sizeof(bus_id)) != 0) continue;
    ++device.ranks_on_device;
    lowest_on_device = r;
  }
  warn_if_time_sliced(device, bootstrap.rank(), lowest_on_device == bootstrap.rank());
  char token[40];
  std::snprintf(token, sizeof(token), "%lld-%016llx", static_cast<long long>(hellos[0].pid),
                static_cast<unsigned long long>(hellos[0].nonce));

  std::unique_ptr<CudaIpcContext> context(new CudaIpcContext(bootstrap, options, std::move(device), slots));
  FB_TRY(context->connect_peers(pids, token));
  return std::unique_ptr<Context>(std::move(context));
}

// Every rank creates its segment, then maps everyone else's, then removes its name. Each phase
// ends in an allgather of outcomes, so one rank's failure fails the whole job at once instead
// of leaving the others to time out.
Status CudaIpcContext::connect_peers(const std::vector<pid_t>& pids, const std::string& job_token) {
  const int ranks = size();
  auto agree = [&](const Status& mine, std::string_view phase) -> Status {
    FB_TRY_ASSIGN(const std::vector<uint8_t> outcomes, allgather_value(bootstrap_, uint8_t{mine.ok()}));
    if (!mine.ok()) return mine;
    for (int r = 0; r < ranks; ++r)
      if (!outcomes[r])
        return Status::error(StatusCode::kPeerFailed,
                             rank_name(r) + " failed to " + std::string(phase) + " (its error says why)", FB_HERE);
    return {};
  };

  Expected<ControlSegment> created = ControlSegment::create(segment_name(job_token, rank()), rank(), ranks, slots_);
  FB_TRY(agree(created.status(), "create its cuda-ipc control segment"));
  own_segment_ = std::move(created).value();

  Status mapped;
  peer_segments_.resize(ranks);
  for (int r = 0; r < ranks && mapped.ok(); ++r) {
    if (r == rank()) continue;
    Expected<ControlSegment> opened = ControlSegment::open(segment_name(job_token, r), r, ranks, slots_);
    if (opened.ok())
      peer_segments_[r] = std::move(opened).value();
    else
      mapped = opened.status();
  }
  Status streams;
  peers_.resize(ranks);
  for (int r = 0; r < ranks && mapped.ok(); ++r) {
    Peer& peer = peers_[r];
    peer.rank = r;
    peer.pid = pids[r];
    peer.segment = r == rank() ? &own_segment_ : &peer_segments_[r];
    Expected<cuda::Stream> stream = cuda::Stream::create();
    if (!stream.ok()) {
      mapped = stream.status();
      break;
    }
    peer.stream = std::move(stream).value();
  }
  FB_TRY(agree(mapped, "map its peers' cuda-ipc control segments"));
  own_segment_.unlink();

  for (int r = 0; r < ranks; ++r) endpoints_.push_back(std::make_unique<IpcEndpoint>(*this, r));
  return {};
}

Expected<Endpoint*> CudaIpcContext::connect(int peer) {
  if (peer < 0 || peer >= size())
    return Status::error(StatusCode::kInvalidArgument, "no rank " + std::to_string(peer), FB_HERE);
  return endpoints_[peer].get();
}

Status CudaIpcContext::posting_allowed(int peer) const {
  if (closed_) [[unlikely]]
    return Status::error(StatusCode::kInvalidArgument, "cuda-ipc context used after close()", FB_HERE);
  if (peers_[peer].failed) [[unlikely]]
    return Status::error(StatusCode::kPeerFailed, rank_name(peer) + " (pid " + std::to_string(peers_[peer].pid) +
                                                      ") is gone", FB_HERE);
  return {};
}

Op* CudaIpcContext::new_op(Op::Kind kind, int peer) {
  Op* op;
  if (spare_ops_.empty()) {
    ops_.push_back(std::make_unique<Op>());
    op = ops_.back().get();
  } else {
    op = spare_ops_.back();
    spare_ops_.pop_back();
  }
  op->kind = kind;
  op->peer = peer;
  op->done = false;
  return op;
}

void CudaIpcContext::release(Op* op) {
  if (op->event) spare_events_.push_back(std::move(op->event));
  op->error = Status();
  spare_ops_.push_back(op);
}

Expected<cuda::Event> CudaIpcContext::take_event() {
  if (spare_events_.empty()) return cuda::Event::create();
  cuda::Event event = std::move(spare_events_.back());
  spare_events_.pop_back();
  return event;
}

Status CudaIpcContext::enqueue_copy(Peer& peer, Op* op, std::byte* to, const std::byte* from, size_t bytes) {
  FB_TRY_ASSIGN(op->event, take_event());
  if (bytes > 0) {
    // Default: unified addressing finds each side, so a send from pinned or host memory works too.
    const cudaError_t error = cudaMemcpyAsync(to, from, bytes, cudaMemcpyDefault, peer.stream.get());
    if (error != cudaSuccess) {
      (void)cudaGetLastError();
      return cuda::status_of(error, "cudaMemcpyAsync of " + std::to_string(bytes) + " bytes with " +
                                        rank_name(peer.rank),
                             FB_HERE);
    }
  }
  FB_TRY(op->event.record(peer.stream.get()));
  peer.copies.push_back(op);
  return {};
}

Expected<const CudaIpcContext::Export*> CudaIpcContext::exported(const void* data, size_t bytes) {
  FB_TRY_ASSIGN(const Allocation allocation, find_allocation(data, bytes));
  auto found = exports_.find(allocation.id);
  if (found == exports_.end()) {
    Export fresh{{}, allocation};
    FB_CUDA_TRY(cudaIpcGetMemHandle(&fresh.handle, allocation.base));
    found = exports_.emplace(allocation.id, fresh).first;
  }
  return &found->second;
}

Expected<std::byte*> CudaIpcContext::mapped(Peer& peer, const cudaIpcMemHandle_t& handle) {
  std::string key = handle_key(handle);
  auto found = peer.mappings.find(key);
  if (found == peer.mappings.end()) {
    FB_TRY_ASSIGN(IpcMapping mapping, IpcMapping::open(handle, peer.rank));
    found = peer.mappings.emplace(std::move(key), std::move(mapping)).first;
  }
  return found->second.base();
}

Expected<Request> CudaIpcContext::post_send(int peer, const void* data, size_t bytes, uint32_t tag) {
  FB_TRY(posting_allowed(peer));
  Op* op = new_op(Op::Kind::kSend, peer);
  op->from = static_cast<const std::byte*>(data);
  op->bytes = bytes;
  op->tag = tag;
  peers_[peer].unmatched.push_back(op);
  match_sends(peers_[peer]);
  return Request{op};
}

// Device memory is exported for the sender to copy into; small host buffers take the message
// through the slot; anything else cannot be reached from the peer.
Expected<Landing> CudaIpcContext::landing_for(const void* data, size_t bytes, const Export*& exported_from) {
  if (bytes == 0) return Landing::kNone;
  Expected<const Export*> found = exported(data, bytes);
  if (found.ok()) {
    exported_from = found.value();
    return Landing::kDevice;
  }
  if (found.status().code() != StatusCode::kUnsupported) return found.status();
  if (bytes <= kInlineBytes) return Landing::kInline;
  return Status::error(StatusCode::kUnsupported,
                       "cuda-ipc receives into CUDA device memory, or into host memory of at most " +
                           std::to_string(kInlineBytes) + " bytes; this " + std::to_string(bytes) +
                           "-byte receive is into host memory (use --memory cuda)",
                       FB_HERE);
}

Expected<Request> CudaIpcContext::post_recv(int peer, void* data, size_t bytes, uint32_t tag) {
  FB_TRY(posting_allowed(peer));
  const Export* exported_from = nullptr;
  FB_TRY_ASSIGN(const Landing landing, landing_for(data, bytes, exported_from));
  Op* op = new_op(Op::Kind::kRecv, peer);
  op->to = static_cast<std::byte*>(data);
  op->bytes = bytes;
  op->tag = tag;
  op->landing = landing;
  if (exported_from) {
    op->handle = exported_from->handle;
    op->offset = static_cast<uint64_t>(op->to - exported_from->allocation.base);
  }
  peers_[peer].unpublished.push_back(op);
  publish_receives(peers_[peer]);
  return Request{op};
}

Expected<Request> CudaIpcContext::post_copy(Op::Kind kind, int peer, std::byte* to, const std::byte* from,
                                            size_t bytes) {
  FB_TRY(posting_allowed(peer));
  if (bytes == 0) return Request{};
  Op* op = new_op(kind, peer);
  if (Status queued = enqueue_copy(peers_[peer], op, to, from, bytes); !queued.ok()) {
    release(op);
    return queued;
  }
  return Request{op};
}

Expected<Request> CudaIpcContext::post_flush(int peer) {
  FB_TRY(posting_allowed(peer));
  Peer& target = peers_[peer];
  complete_copies(target);
  // Copies on one stream finish in order, so a marker behind the last one finishes after
  // every earlier put has landed.
  if (target.copies.empty()) return Request{};
  Op* op = new_op(Op::Kind::kFlush, peer);
  if (Status queued = enqueue_copy(target, op, nullptr, nullptr, 0); !queued.ok()) {
    release(op);
    return queued;
  }
  return Request{op};
}

void CudaIpcContext::publish_receives(Peer& peer) {
  InboxHeader& inbox = own_segment_.inbox(peer.rank);
  bool published = false;
  while (!peer.unpublished.empty() && peer.recv_published - peer.recv_done < slots_) {
    Op* op = peer.unpublished.front();
    peer.unpublished.pop_front();
    op->seq = ++peer.recv_published;
    RecvSlot& slot = own_segment_.slot(peer.rank, op->seq);
    slot.handle = op->handle;
    slot.address = reinterpret_cast<uint64_t>(op->to);
    slot.offset = op->offset;
    slot.capacity = op->bytes;
    slot.seq = op->seq;
    slot.tag = op->tag;
    slot.landing = op->landing;
    peer.published.push_back(op);
    published = true;
  }
  if (published) inbox.posted.store(peer.recv_published, std::memory_order_release);
}

void CudaIpcContext::complete_receives(Peer& peer) {
  while (!peer.published.empty()) {
    Op* op = peer.published.front();
    const RecvSlot& slot = own_segment_.slot(peer.rank, op->seq);
    if (slot.done.load(std::memory_order_acquire) != op->seq) break;
    op->error = match_error(slot.outcome, peer.rank, rank(), slot);
    if (op->landing == Landing::kInline && slot.outcome == Outcome::kDelivered)
      std::memcpy(op->to, slot.inline_data, slot.sent_bytes);
    op->done = true;
    peer.recv_done = op->seq;
    peer.published.pop_front();
  }
}

void CudaIpcContext::match_sends(Peer& peer) {
  if (peer.unmatched.empty()) return;
  const ControlSegment& target = *peer.segment;
  const uint64_t posted = target.inbox(rank()).posted.load(std::memory_order_acquire);
  while (!peer.unmatched.empty() && peer.send_matched < posted) {
    Op* op = peer.unmatched.front();
    peer.unmatched.pop_front();
    op->seq = ++peer.send_matched;
    RecvSlot& slot = target.slot(rank(), op->seq);
    slot.sent_bytes = op->bytes;
    slot.sent_tag = op->tag;
    if (slot.tag != op->tag) {
      hand_back(peer, *op, Outcome::kTagMismatch);
    } else if (op->bytes > slot.capacity) {
      hand_back(peer, *op, Outcome::kTruncated);
    } else if (op->bytes == 0) {
      hand_back(peer, *op, Outcome::kDelivered);
    } else if (slot.landing == Landing::kInline) {
      // Synchronous and small: the source may be host or device memory, and the slot is
      // handed back at once.
      const cudaError_t error = cudaMemcpy(slot.inline_data, op->from, op->bytes, cudaMemcpyDefault);
      if (error != cudaSuccess) {
        (void)cudaGetLastError();
        op->error = cuda::status_of(error, "copy of a " + std::to_string(op->bytes) + "-byte message to " +
                                               rank_name(peer.rank) + "'s host buffer",
                                    FB_HERE);
      }
      hand_back(peer, *op, error == cudaSuccess ? Outcome::kDelivered : Outcome::kCopyFailed);
    } else {
      Expected<std::byte*> base = peer.rank == rank() ? reinterpret_cast<std::byte*>(slot.address - slot.offset)
                                                      : mapped(peer, slot.handle);
      Status queued = base.ok() ? enqueue_copy(peer, op, *base + slot.offset, op->from, op->bytes) : base.status();
      if (!queued.ok()) {
        op->error = queued.with_context("send of " + std::to_string(op->bytes) + " bytes to " + rank_name(peer.rank));
        hand_back(peer, *op, Outcome::kCopyFailed);
      }
    }
  }
}

void CudaIpcContext::hand_back(Peer& peer, Op& send, Outcome outcome) {
  RecvSlot& slot = peer.segment->slot(rank(), send.seq);
  slot.outcome = outcome;
  if (send.error.ok()) send.error = match_error(outcome, rank(), peer.rank, slot);
  send.done = true;
  slot.done.store(send.seq, std::memory_order_release);
}

void CudaIpcContext::complete_copies(Peer& peer) {
  while (!peer.copies.empty()) {
    Op* op = peer.copies.front();
    const cudaError_t state = cudaEventQuery(op->event.get());
    if (state == cudaErrorNotReady) break;
    peer.copies.pop_front();
    if (state != cudaSuccess) {
      (void)cudaGetLastError();
      op->error = cuda::status_of(state, "copy with " + rank_name(peer.rank) + " (cudaEventQuery)", FB_HERE);
    }
    spare_events_.push_back(std::move(op->event));
    if (op->kind == Op::Kind::kSend)
      hand_back(peer, *op, op->error.ok() ? Outcome::kDelivered : Outcome::kCopyFailed);
    else
      op->done = true;
  }
}

// A peer that exited cannot complete what is waiting on it: those operations fail now rather
// than at their deadline. Copies already on the stream finish by themselves.
void CudaIpcContext::check_liveness() {
  for (Peer& peer : peers_) {
    if (peer.failed || peer.rank == rank()) continue;
    if (peer.unmatched.empty() && peer.published.empty() && peer.unpublished.empty()) continue;
    if (::kill(peer.pid, 0) == 0 || errno != ESRCH) continue;
    peer.failed = true;
    const Status gone = Status::error(StatusCode::kPeerFailed,
                                      rank_name(peer.rank) + " (pid " + std::to_string(peer.pid) +
                                          ") exited while operations with it were pending",
                                      FB_HERE);
    for (auto* queue : {&peer.unmatched, &peer.published, &peer.unpublished}) {
      for (Op* op : *queue) {
        op->error = gone;
        op->done = true;
      }
      queue->clear();
    }
  }
}

Status CudaIpcContext::progress() {
  for (Peer& peer : peers_) {
    complete_receives(peer);
    publish_receives(peer);
    match_sends(peer);
    complete_copies(peer);
  }
  if (++passes_ % kPassesPerLivenessCheck == 0) [[unlikely]]
    check_liveness();
  return {};
}

Expected<bool> CudaIpcContext::test(Request& request) {
  if (request.completed()) return true;
  auto* op = static_cast<Op*>(request.handle);
  if (!op->done) {
    FB_TRY(progress());
    if (!op->done) return false;
  }
  Status error = std::move(op->error);
  release(op);
  request.handle = nullptr;
  if (!error.ok()) return error;
  return true;
}

Expected<std::unique_ptr<MemRegion>> CudaIpcContext::register_memory(MemorySpan memory) {
  if (memory.kind != MemoryKind::kCudaDevice)
    return Status::error(StatusCode::kUnsupported,
                         "cuda-ipc registers CUDA device memory only, not " + std::string(to_string(memory.kind)),
                         FB_HERE);
  FB_TRY_ASSIGN(const Export* exported_from, exported(memory.data, memory.size));
  const auto* data = static_cast<const std::byte*>(memory.data);
  const PackedRegion packed{kRegionMagic,
                            ::getpid(),
                            reinterpret_cast<uint64_t>(memory.data),
                            static_cast<uint64_t>(data - exported_from->allocation.base),
                            memory.size,
                            exported_from->handle};
  return std::unique_ptr<MemRegion>(new IpcRegion(memory, packed));
}

Expected<std::unique_ptr<RemoteRegion>> CudaIpcContext::import_region(int peer, ByteSpan packed) {
  PackedRegion region;
  if (peer < 0 || peer >= size() || packed.size() != sizeof(region))
    return Status::error(StatusCode::kProtocol, "malformed cuda-ipc region key from " + rank_name(peer), FB_HERE);
  std::memcpy(&region, packed.data(), sizeof(region));
  if (region.magic != kRegionMagic)
    return Status::error(StatusCode::kProtocol, "the region key from " + rank_name(peer) + " is not cuda-ipc's",
                         FB_HERE);
  std::byte* data = nullptr;
  if (region.pid == ::getpid()) {
    data = reinterpret_cast<std::byte*>(region.address);
  } else {
    FB_TRY_ASSIGN(std::byte * base, mapped(peers_[peer], region.handle));
    data = base + region.offset;
  }
  return std::unique_ptr<RemoteRegion>(new IpcRemote(peer, data, region.size));
}

Status CudaIpcContext::close() {
  if (closed_) return {};
  closed_ = true;
  // This rank's copies into peers' memory finish, and its mappings of that memory go, before
  // the barrier lets any peer free it.
  Status drained;
  for (Peer& peer : peers_) {
    if (Status synced = peer.stream.synchronize(); drained.ok() && !synced.ok()) drained = synced;
    peer.mappings.clear();
  }
  Status barrier = bootstrap_.barrier();
  release_all();
  return drained.ok() ? barrier : drained;
}

void CudaIpcContext::release_all() {
  for (Peer& peer : peers_)
    if (peer.stream) (void)peer.stream.synchronize();
  ops_.clear();
  spare_ops_.clear();
  spare_events_.clear();
  exports_.clear();
  peers_.clear();  // mappings, then streams
  peer_segments_.clear();
  own_segment_ = ControlSegment();
}

std::map<std::string, std::string> CudaIpcContext::describe() const {
  auto version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
  return {{"device", std::to_string(device_.ordinal)},
          {"device_name", device_.name},
          {"pci_bus_id", device_.pci_bus_id},
          {"cuda_driver", version(device_.driver_version)},
          {"cuda_runtime", version(device_.runtime_version)},
          {"slots", std::to_string(slots_)},
          {"mps", device_.mps},
          {"ranks_on_gpu", std::to_string(device_.ranks_on_device)},
          {"progress", "poll"}};
}

}  // namespace fb::cuda_ipc
