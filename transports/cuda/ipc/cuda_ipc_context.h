// A rank's cuda-ipc context. Two-sided messages: a receive publishes where its data is to land
// (the IPC handle of the buffer's allocation and the offset) in the receiver's inbox for that
// sender; the sender's progress pairs its oldest unmatched send with the oldest published
// receive, checks tag and size, copies device to device into the peer's buffer on its stream
// for that peer, and hands the slot back once the copy's event has completed. One-sided
// operations are the same copies into (or out of) regions imported from their IPC handles.
// A receive into host memory of at most kInlineBytes (the benchmarks' control messages) lands
// in its slot instead, and the receiver copies it out when the slot is done.
//
// Not thread-safe: one thread drives a context (as with one UCX worker).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cuda_handles.h"
#include "cuda_ipc_control.h"
#include "cuda_ipc_handles.h"
#include "fabricbench/transport/transport.h"

namespace fb::cuda_ipc {

// The device this rank runs on, for describe().
struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  std::string pci_bus_id;
  int driver_version = 0;
  int runtime_version = 0;
  std::string mps;          // "on", "off", or "unknown" where the driver cannot say
  int ranks_on_device = 1;  // this job's ranks on the same GPU, this one included
};

// One posted operation; Request::handle points at it until test() releases it.
struct Op {
  enum class Kind : uint8_t { kSend, kRecv, kPut, kGet, kFlush };
  Kind kind = Kind::kSend;
  int peer = 0;
  bool done = false;
  Status error;
  const std::byte* from = nullptr;  // send, put, get: the copy's source
  std::byte* to = nullptr;          // recv: the buffer; put, get: the copy's destination
  size_t bytes = 0;
  uint32_t tag = 0;
  uint64_t seq = 0;  // send, recv: the slot's sequence number
  Landing landing = Landing::kNone;  // recv
  cudaIpcMemHandle_t handle{};  // recv: the buffer's allocation, exported
  uint64_t offset = 0;          // recv: of the buffer within it
  cuda::Event event;            // while a copy (or a flush marker) is queued on the stream
};

class CudaIpcContext final : public Context {
 public:
  // Collective over `bootstrap`: every rank opens together.
  static Expected<std::unique_ptr<Context>> open(Bootstrap& bootstrap, const TransportOptions& options);
  // Without close(), waits for this rank's own copies and releases everything; peers are not
  // involved.
  ~CudaIpcContext() override;

  int rank() const override { return bootstrap_.rank(); }
  int size() const override { return bootstrap_.size(); }
  const TransportOptions& options() const override { return options_; }

  Expected<Endpoint*> connect(int peer) override;
  Expected<std::unique_ptr<MemRegion>> register_memory(MemorySpan memory) override;
  Expected<std::unique_ptr<RemoteRegion>> import_region(int peer, ByteSpan packed) override;

  Status progress() override;
  Expected<bool> test(Request& request) override;
  Status close() override;
  std::map<std::string, std::string> describe() const override;

  // The endpoints' operations, by peer.
  Expected<Request> post_send(int peer, const void* data, size_t bytes, uint32_t tag);
  Expected<Request> post_recv(int peer, void* data, size_t bytes, uint32_t tag);
  Expected<Request> post_copy(Op::Kind kind, int peer, std::byte* to, const std::byte* from, size_t bytes);
  Expected<Request> post_flush(int peer);

 private:
  struct Peer {
    int rank = 0;
    pid_t pid = 0;
    const ControlSegment* segment = nullptr;  // the peer's (this rank's own for itself)
    cuda::Stream stream;                      // every copy to or from this peer, in order
    std::map<std::string, IpcMapping> mappings;  // the peer's allocations opened here, by handle
    // Receives from this peer: waiting for a free slot, then published and waiting to be done.
    std::deque<Op*> unpublished;
    std::deque<Op*> published;
    uint64_t recv_published = 0;  // last sequence number published
    uint64_t recv_done = 0;       // last sequence number seen done
    // Sends to this peer waiting for its receive, and copies queued on `stream`.
    std::deque<Op*> unmatched;
    std::deque<Op*> copies;
    uint64_t send_matched = 0;  // last sequence number of the peer's inbox taken
    bool failed = false;        // the peer's process is gone
  };
  struct Export {
    cudaIpcMemHandle_t handle;
    Allocation allocation;
  };

  CudaIpcContext(Bootstrap& bootstrap, TransportOptions options, DeviceInfo device, uint32_t slots);
  Status connect_peers(const std::vector<pid_t>& pids, const std::string& job_token);

  Op* new_op(Op::Kind kind, int peer);
  void release(Op* op);
  Expected<cuda::Event> take_event();
  Status enqueue_copy(Peer& peer, Op* op, std::byte* to, const std::byte* from, size_t bytes);
  Expected<Landing> landing_for(const void* data, size_t bytes, const Export*& exported_from);
  Expected<const Export*> exported(const void* data, size_t bytes);
  Expected<std::byte*> mapped(Peer& peer, const cudaIpcMemHandle_t& handle);

  void publish_receives(Peer& peer);
  void complete_receives(Peer& peer);
  void match_sends(Peer& peer);
  void complete_copies(Peer& peer);
  void hand_back(Peer& peer, Op& send, Outcome outcome);
  void check_liveness();
  Status posting_allowed(int peer) const;
  void release_all();

  Bootstrap& bootstrap_;
  TransportOptions options_;
  DeviceInfo device_;
  uint32_t slots_;
  // Destroyed in reverse: operations (their events) first, then peers (mappings, streams),
  // then the control segments they point into.
  ControlSegment own_segment_;
  std::vector<ControlSegment> peer_segments_;  // by rank; empty at this rank's index
  std::vector<Peer> peers_;
  std::unordered_map<uint64_t, Export> exports_;  // by allocation id
  std::vector<cuda::Event> spare_events_;
  std::vector<std::unique_ptr<Op>> ops_;
  std::vector<Op*> spare_ops_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  uint32_t passes_ = 0;
  bool closed_ = false;
};

}  // namespace fb::cuda_ipc
