// The transport contract every benchmark and collective is written against: a Context per
// rank, Endpoints to peers, registered memory with packable remote keys, non-blocking
// operations returning Requests, and explicit progress. Nothing here blocks except wait().
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fabricbench/transport/bootstrap.h"
#include "fabricbench/transport/deadline.h"
#include "fabricbench/transport/memory.h"
#include "fabricbench/transport/status.h"

namespace fb {

struct Capabilities {
  bool send_recv = false;         // tagged two-sided messages
  bool rma = false;               // one-sided put/get into registered remote memory
  bool event_wait = false;        // can sleep on a completion channel instead of spinning
  bool ranks_as_threads = false;  // all ranks must be threads of one process (loopback)
  bool gpu_direct = false;        // device memory goes on the wire without staging
  bool put_imm = false;           // Endpoint::put_imm() / recv_imm(): a put that notifies its target
  std::vector<MemoryKind> memory{MemoryKind::kHost};
};

enum class ProgressMode {
  kPoll,   // spin on progress(): lowest latency, one core per rank
  kEvent,  // sleep on the transport's event channel: for more ranks than cores
  kYield,  // poll, giving the core away between passes: for more ranks than cores
};

const char* to_string(ProgressMode mode);  // "poll", "event", "yield"

struct TransportOptions {
  ProgressMode progress = ProgressMode::kPoll;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // The run will use put/get. When false a transport may leave one-sided support out, which
  // can make progress cheaper (UCX then progresses fewer lanes); memory may still be registered.
  bool one_sided = true;
  // The GPU the run's buffers are on (--device); unset: one per local rank, round-robin.
  // Transports that drive a GPU themselves (cuda-ipc) use the same one.
  std::optional<int> device;
  // Transport-specific settings (key=value), recorded in results.
  std::map<std::string, std::string> settings;
};

// A handle for a posted operation. Every request must be driven to completion with
// Context::test() or wait(); an empty handle means it completed when posted.
struct [[nodiscard]] Request {
  void* handle = nullptr;
  bool completed() const { return handle == nullptr; }
};

// Local memory registered with a context. pack() gives the bytes a peer needs to reach it.
class MemRegion {
 public:
  virtual ~MemRegion() = default;
  virtual MemorySpan span() const = 0;
  virtual Bytes pack() const = 0;
};

// A peer's registered memory, imported from its packed bytes.
class RemoteRegion {
 public:
  virtual ~RemoteRegion() = default;
  virtual int peer() const = 0;
  virtual size_t size() const = 0;
};

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  virtual int peer() const = 0;

  // Two-sided: a message matches a recv posted by its peer with the same tag, in order.
  virtual Expected<Request> send(const void* data, size_t bytes, uint32_t tag) = 0;
  virtual Expected<Request> recv(void* data, size_t bytes, uint32_t tag) = 0;

  // One-sided: local [data, data+bytes) within `local` to/from remote + offset.
  virtual Expected<Request> put(const void* data, size_t bytes, const MemRegion& local,
                                const RemoteRegion& remote, size_t remote_offset) = 0;
  virtual Expected<Request> get(void* data, size_t bytes, const MemRegion& local,
                                const RemoteRegion& remote, size_t remote_offset) = 0;
  // Completes when every earlier put to this peer is visible in the peer's memory.
  // One-sided operations may be carried out in software on the target (UCX over tcp or
  // shared memory), so flush() and get() can need the peer to keep progressing: a passive
  // peer waits in a transport operation (a receive), never in a bootstrap exchange.
  virtual Expected<Request> flush() = 0;

  // A put that notifies its target: once [data, data+bytes) is in the peer's memory, a
  // recv_imm() on the peer's endpoint for this rank completes with `imm` (RDMA WRITE with
  // immediate). Notifications from one peer complete receives in the order it posted them,
  // whether the receive was posted before or after the put arrived. Only where
  // Capabilities::put_imm; elsewhere both return kUnsupported.
  virtual Expected<Request> put_imm(const void* data, size_t bytes, const MemRegion& local,
                                    const RemoteRegion& remote, size_t remote_offset, uint32_t imm);
  // Completes, writing the notification's value to *imm, when the peer's next put_imm() has
  // landed. `imm` must stay valid until the request completes.
  virtual Expected<Request> recv_imm(uint32_t* imm);
};

class Context {
 public:
  virtual ~Context() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const TransportOptions& options() const = 0;

  virtual Expected<Endpoint*> connect(int peer) = 0;

  virtual Expected<std::unique_ptr<MemRegion>> register_memory(MemorySpan memory) = 0;
  virtual Expected<std::unique_ptr<RemoteRegion>> import_region(int peer, ByteSpan packed) = 0;

  // One non-blocking pass of the progress engine.
  virtual Status progress() = 0;
  // Progresses and reports whether `request` finished; a finished request is released and
  // its handle cleared. A failed operation returns its error.
  virtual Expected<bool> test(Request& request) = 0;
  // Sleeps until the transport may have something to progress, or the deadline; used in
  // ProgressMode::kEvent and by wait_sleeping() in every mode. The default yields the CPU.
  // A spurious or early return is allowed; callers progress and ask again.
  virtual Status wait_for_activity(const Deadline& deadline);

  // Collective, orderly shutdown: every rank calls it; afterwards nothing may be posted.
  virtual Status close() = 0;

  // What to record about this transport in results (library version, selected devices,
  // environment that tunes it).
  virtual std::map<std::string, std::string> describe() const = 0;
};

// Drives `request` to completion; fails with kTimeout at the deadline naming `what`.
// The timeout form reads no clock for requests that finish quickly (timed loops use it).
Status wait(Context& context, Request& request, const Deadline& deadline, std::string_view what);
Status wait(Context& context, Request& request, std::chrono::milliseconds timeout, std::string_view what);
// Like wait(), but sleeps in wait_for_activity() between passes whatever the progress mode:
// for a rank with nothing to do until its peer is done (the target of one-sided transfers),
// whose spinning would only take CPU from the transfer it waits for.
Status wait_sleeping(Context& context, Request& request, std::chrono::milliseconds timeout,
                     std::string_view what);
Status wait_all(Context& context, std::span<Request> requests, const Deadline& deadline,
                std::string_view what);

// Registers `local`, swaps packed keys through the bootstrap and imports every peer's.
// The result is indexed by rank (nullptr at this rank's own index).
Expected<std::vector<std::unique_ptr<RemoteRegion>>> exchange_regions(Context& context,
                                                                      Bootstrap& bootstrap,
                                                                      const MemRegion& local);

}  // namespace fb
