// In-process transport: ranks are threads of one process and "the wire" is memcpy. It makes
// every benchmark and collective testable without hardware, with the same contract as the
// real transports (eager sends, matched receives, one-sided put/get into registered memory).
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>

#include "fabricbench/transport/registry.h"

namespace fb {
namespace {

struct PendingOp {
  std::atomic<bool> done{false};
  Status error;
};

struct PostedRecv {
  int source;
  uint32_t tag;
  void* data;
  size_t capacity;
  PendingOp* op;
};

struct QueuedMessage {
  int source;
  uint32_t tag;
  Bytes payload;
};

struct Mailbox {
  std::mutex mutex;
  std::deque<PostedRecv> posted;
  std::deque<QueuedMessage> unexpected;
};

struct Fabric {
  explicit Fabric(int ranks) : mailboxes(ranks) {}
  std::vector<Mailbox> mailboxes;
};

Status truncated(size_t message, size_t capacity, int source, uint32_t tag) {
  return Status::error(StatusCode::kInvalidArgument,
                       "message of " + std::to_string(message) + " bytes from rank " +
                           std::to_string(source) + " (tag " + std::to_string(tag) +
                           ") does not fit the posted " + std::to_string(capacity) + "-byte receive",
                       FB_HERE);
}

struct PackedRegion {
  pid_t pid;
  uint64_t address;
  uint64_t size;
};

class LoopbackRegion final : public MemRegion {
 public:
  explicit LoopbackRegion(MemorySpan span) : span_(span) {}
  MemorySpan span() const override { return span_; }
  Bytes pack() const override {
    return to_bytes(PackedRegion{getpid(), reinterpret_cast<uint64_t>(span_.data), span_.size});
  }

 private:
  MemorySpan span_;
};

class LoopbackRemote final : public RemoteRegion {
 public:
  LoopbackRemote(int peer, std::byte* base, size_t size) : peer_(peer), base_(base), size_(size) {}
  int peer() const override { return peer_; }
  size_t size() const override { return size_; }
  std::byte* base() const { return base_; }

 private:
  int peer_;
  std::byte* base_;
  size_t size_;
};

Status check_remote_range(const RemoteRegion& remote, size_t offset, size_t bytes) {
  if (offset + bytes <= remote.size()) return {};
  return Status::error(StatusCode::kInvalidArgument,
                       "one-sided access [" + std::to_string(offset) + ", " + std::to_string(offset + bytes) +
                           ") is outside rank " + std::to_string(remote.peer()) + "'s " +
                           std::to_string(remote.size()) + "-byte region", FB_HERE);
}

class LoopbackEndpoint final : public Endpoint {
 public:
  LoopbackEndpoint(Fabric& fabric, int self, int peer) : fabric_(fabric), self_(self), peer_(peer) {}
  int peer() const override { return peer_; }

  Expected<Request> send(const void* data, size_t bytes, uint32_t tag) override {
    Mailbox& box = fabric_.mailboxes[peer_];
    std::lock_guard lock(box.mutex);
    for (auto it = box.posted.begin(); it != box.posted.end(); ++it) {
      if (it->source != self_ || it->tag != tag) continue;
      PostedRecv recv = *it;
      box.posted.erase(it);
      if (bytes > recv.capacity)
        recv.op->error = truncated(bytes, recv.capacity, self_, tag);
      else if (bytes > 0)
        std::memcpy(recv.data, data, bytes);
      recv.op->done.store(true, std::memory_order_release);
      return Request{};
    }
    const auto* first = static_cast<const std::byte*>(data);
    box.unexpected.push_back({self_, tag, Bytes(first, first + bytes)});
    return Request{};
  }

  Expected<Request> recv(void* data, size_t bytes, uint32_t tag) override {
    Mailbox& box = fabric_.mailboxes[self_];
    std::lock_guard lock(box.mutex);
    for (auto it = box.unexpected.begin(); it != box.unexpected.end(); ++it) {
      if (it->source != peer_ || it->tag != tag) continue;
      QueuedMessage message = std::move(*it);
      box.unexpected.erase(it);
      if (message.payload.size() > bytes) return truncated(message.payload.size(), bytes, peer_, tag);
      if (!message.payload.empty()) std::memcpy(data, message.payload.data(), message.payload.size());
      return Request{};
    }
    auto* op = new PendingOp;
    box.posted.push_back({peer_, tag, data, bytes, op});
    return Request{op};
  }

  Expected<Request> put(const void* data, size_t bytes, const MemRegion& /*local*/,
                        const RemoteRegion& remote, size_t remote_offset) override {
    FB_TRY(check_remote_range(remote, remote_offset, bytes));
    if (bytes > 0)
      std::memcpy(static_cast<const LoopbackRemote&>(remote).base() + remote_offset, data, bytes);
    return Request{};
  }

  Expected<Request> get(void* data, size_t bytes, const MemRegion& /*local*/,
                        const RemoteRegion& remote, size_t remote_offset) override {
    FB_TRY(check_remote_range(remote, remote_offset, bytes));
    if (bytes > 0)
      std::memcpy(data, static_cast<const LoopbackRemote&>(remote).base() + remote_offset, bytes);
    return Request{};
  }

  Expected<Request> flush() override {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return Request{};
  }

 private:
  Fabric& fabric_;
  int self_;
  int peer_;
};

class LoopbackContext final : public Context {
 public:
  LoopbackContext(Bootstrap& bootstrap, TransportOptions options, std::shared_ptr<Fabric> fabric)
      : bootstrap_(bootstrap), options_(std::move(options)), fabric_(std::move(fabric)) {
    for (int peer = 0; peer < bootstrap.size(); ++peer)
      endpoints_.push_back(std::make_unique<LoopbackEndpoint>(*fabric_, bootstrap.rank(), peer));
  }

  int rank() const override { return bootstrap_.rank(); }
  int size() const override { return bootstrap_.size(); }
  const TransportOptions& options() const override { return options_; }

  Expected<Endpoint*> connect(int peer) override {
    if (peer < 0 || peer >= size())
      return Status::error(StatusCode::kInvalidArgument, "no rank " + std::to_string(peer), FB_HERE);
    return endpoints_[peer].get();
  }

  Expected<std::unique_ptr<MemRegion>> register_memory(MemorySpan memory) override {
    if (memory.kind != MemoryKind::kHost)
      return Status::error(StatusCode::kUnsupported, "loopback moves host memory only", FB_HERE);
    return std::unique_ptr<MemRegion>(new LoopbackRegion(memory));
  }

  Expected<std::unique_ptr<RemoteRegion>> import_region(int peer, ByteSpan packed) override {
    PackedRegion region;
    if (packed.size() != sizeof(region))
      return Status::error(StatusCode::kProtocol, "malformed region key from rank " + std::to_string(peer), FB_HERE);
    std::memcpy(&region, packed.data(), sizeof(region));
    if (region.pid != getpid())
      return Status::error(StatusCode::kUnsupported, "loopback regions cannot cross processes", FB_HERE);
    return std::unique_ptr<RemoteRegion>(
        new LoopbackRemote(peer, reinterpret_cast<std::byte*>(region.address), region.size));
  }

  Status progress() override { return {}; }

  Expected<bool> test(Request& request) override {
    if (request.completed()) return true;
    auto* op = static_cast<PendingOp*>(request.handle);
    if (!op->done.load(std::memory_order_acquire)) return false;
    Status error = op->error;
    delete op;
    request.handle = nullptr;
    if (!error.ok()) return error;
    return true;
  }

  Status close() override { return bootstrap_.barrier(); }

  std::map<std::string, std::string> describe() const override {
    return {{"progress", to_string(options_.progress)}};
  }

 private:
  Bootstrap& bootstrap_;
  TransportOptions options_;
  std::shared_ptr<Fabric> fabric_;
  std::vector<std::unique_ptr<LoopbackEndpoint>> endpoints_;
};

// Rank 0 creates the fabric and shares a pointer to a shared_ptr holding it; the others take
// their own reference before rank 0 drops the holder.
Expected<std::shared_ptr<Fabric>> share_fabric(Bootstrap& bootstrap) {
  FB_TRY_ASSIGN(auto pids, allgather_value(bootstrap, getpid()));
  for (pid_t pid : pids)
    if (pid != pids[0])
      return Status::error(StatusCode::kUnsupported,
                           "loopback needs all ranks as threads of one process (bootstrap '" +
                               bootstrap.kind() + "' runs separate processes); use --transport ucx",
                           FB_HERE);
  std::shared_ptr<Fabric>* holder = nullptr;
  if (bootstrap.rank() == 0) holder = new std::shared_ptr<Fabric>(std::make_shared<Fabric>(bootstrap.size()));
  auto shared = allgather_value(bootstrap, reinterpret_cast<uintptr_t>(holder));
  if (!shared.ok()) {
    delete holder;
    return shared.status();
  }
  std::shared_ptr<Fabric> fabric = *reinterpret_cast<std::shared_ptr<Fabric>*>(shared.value()[0]);
  Status copied = bootstrap.barrier();
  delete holder;
  FB_TRY(copied);
  return fabric;
}

Expected<std::unique_ptr<Context>> open_loopback(Bootstrap& bootstrap, const TransportOptions& options) {
  FB_TRY_ASSIGN(auto fabric, share_fabric(bootstrap));
  return std::unique_ptr<Context>(new LoopbackContext(bootstrap, options, std::move(fabric)));
}

Status loopback_always_usable() { return {}; }

}  // namespace

FB_REGISTER_TRANSPORT((TransportInfo{
    .name = "loopback",
    .description = "in-process memcpy between ranks that are threads (tests, dry runs)",
    .capabilities = {.send_recv = true, .rma = true, .event_wait = false, .ranks_as_threads = true},
    .probe = &loopback_always_usable,
    .open = &open_loopback,
}));

}  // namespace fb
