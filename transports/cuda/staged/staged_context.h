// The staged path for CUDA device memory over a transport that cannot move it (UCX built
// without CUDA, as Debian ships it): every send copies the device buffer into pinned host
// memory and sends that; every receive lands in pinned host memory and is copied to the
// device when it completes. Host pointers pass straight through. Results label this path
// "staged", so its numbers are never taken for GPU-direct ones.
//
// Send/receive only: one-sided operations on staged memory are kUnsupported. A receive copies
// its whole posted size back to the device, so the part of a receive buffer beyond a shorter
// message is overwritten with undefined bytes (fabricbench posts exact sizes).
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "cuda_handles.h"
#include "fabricbench/transport/transport.h"

namespace fb::cuda {

// Pinned host buffers reused by power-of-two capacity: cudaHostAlloc costs milliseconds.
class BouncePool {
 public:
  Expected<PinnedMemory> take(size_t bytes);
  void give(PinnedMemory memory);

 private:
  std::map<size_t, std::vector<PinnedMemory>> free_;
};

class StagedContext final : public Context {
 public:
  explicit StagedContext(std::unique_ptr<Context> inner);
  ~StagedContext() override;

  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  const TransportOptions& options() const override { return inner_->options(); }
  Expected<Endpoint*> connect(int peer) override;
  Expected<std::unique_ptr<MemRegion>> register_memory(MemorySpan memory) override;
  Expected<std::unique_ptr<RemoteRegion>> import_region(int peer, ByteSpan packed) override;
  Status progress() override { return inner_->progress(); }
  Expected<bool> test(Request& request) override;
  Status wait_for_activity(const Deadline& deadline) override { return inner_->wait_for_activity(deadline); }
  Status close() override { return inner_->close(); }
  std::map<std::string, std::string> describe() const override;

  // For the endpoints: post an inner send/recv through a bounce buffer when `data` is device
  // memory, and hand back a request this context's test() understands.
  Expected<Request> staged_send(Endpoint& inner, const void* data, size_t bytes, uint32_t tag);
  Expected<Request> staged_recv(Endpoint& inner, void* data, size_t bytes, uint32_t tag);

 private:
  struct Operation;
  Expected<Request> wrap(std::unique_ptr<Operation> op, Expected<Request> inner);

  std::unique_ptr<Context> inner_;
  std::map<int, std::unique_ptr<Endpoint>> endpoints_;
  BouncePool pool_;
};

// The stager registered for MemoryKind::kCudaDevice (see stage_context in registry.h).
Expected<std::unique_ptr<Context>> stage_for_cuda(std::unique_ptr<Context> inner);

}  // namespace fb::cuda
