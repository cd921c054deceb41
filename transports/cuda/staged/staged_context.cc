#include "staged_context.h"

#include <bit>

#include "cuda_status.h"
#include "fabricbench/transport/registry.h"

namespace fb::cuda {
namespace {

bool is_device_pointer(const void* data) {
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, data) != cudaSuccess) {
    (void)cudaGetLastError();  // an unknown host pointer is not an error worth keeping
    return false;
  }
  return attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged;
}

Status one_sided_unsupported() {
  return Status::error(StatusCode::kUnsupported,
                       "one-sided operations on cuda memory need a transport with GPU-direct; this one "
                       "moves device memory staged through host memory, send/recv only",
                       FB_HERE);
}

class StagedEndpoint final : public Endpoint {
 public:
  StagedEndpoint(StagedContext& context, Endpoint& inner) : context_(context), inner_(inner) {}
  int peer() const override { return inner_.peer(); }
  Expected<Request> send(const void* data, size_t bytes, uint32_t tag) override {
    return context_.staged_send(inner_, data, bytes, tag);
  }
  Expected<Request> recv(void* data, size_t bytes, uint32_t tag) override {
    return context_.staged_recv(inner_, data, bytes, tag);
  }
  Expected<Request> put(const void*, size_t, const MemRegion&, const RemoteRegion&, size_t) override {
    return one_sided_unsupported();
  }
  Expected<Request> get(void*, size_t, const MemRegion&, const RemoteRegion&, size_t) override {
    return one_sided_unsupported();
  }
  Expected<Request> flush() override { return inner_.flush(); }

 private:
  StagedContext& context_;
  Endpoint& inner_;
};

}  // namespace

Expected<PinnedMemory> BouncePool::take(size_t bytes) {
  const size_t capacity = std::bit_ceil(std::max<size_t>(bytes, 64));
  auto& list = free_[capacity];
  if (!list.empty()) {
    PinnedMemory memory = std::move(list.back());
    list.pop_back();
    return memory;
  }
  return PinnedMemory::allocate(capacity);
}

void BouncePool::give(PinnedMemory memory) {
  const size_t capacity = memory.size();
  free_[capacity].push_back(std::move(memory));
}

// One posted operation: the inner request, and for a staged one its bounce buffer and, for a
// receive, where the data goes when it lands.
struct StagedContext::Operation {
  Request inner;
  PinnedMemory bounce;
  void* device_destination = nullptr;
  size_t bytes = 0;
};

StagedContext::StagedContext(std::unique_ptr<Context> inner) : inner_(std::move(inner)) {}

StagedContext::~StagedContext() = default;

Expected<Endpoint*> StagedContext::connect(int peer) {
  auto found = endpoints_.find(peer);
  if (found != endpoints_.end()) return found->second.get();
  FB_TRY_ASSIGN(Endpoint * inner, inner_->connect(peer));
  auto& slot = endpoints_[peer];
  slot = std::make_unique<StagedEndpoint>(*this, *inner);
  return slot.get();
}

Expected<std::unique_ptr<MemRegion>> StagedContext::register_memory(MemorySpan memory) {
  if (memory.kind == MemoryKind::kCudaDevice) return one_sided_unsupported();
  return inner_->register_memory(memory);
}

Expected<std::unique_ptr<RemoteRegion>> StagedContext::import_region(int, ByteSpan) {
  return one_sided_unsupported();
}

Expected<Request> StagedContext::wrap(std::unique_ptr<Operation> op, Expected<Request> inner) {
  if (!inner.ok()) {
    if (op->bounce) pool_.give(std::move(op->bounce));
    return inner.status();
  }
  op->inner = inner.value();
  return Request{op.release()};
}

Expected<Request> StagedContext::staged_send(Endpoint& inner, const void* data, size_t bytes, uint32_t tag) {
  auto op = std::make_unique<Operation>();
  if (!is_device_pointer(data)) return wrap(std::move(op), inner.send(data, bytes, tag));
  FB_TRY_ASSIGN(op->bounce, pool_.take(bytes));
  FB_CUDA_TRY(cudaMemcpy(op->bounce.get(), data, bytes, cudaMemcpyDeviceToHost));
  const void* staged = op->bounce.get();
  return wrap(std::move(op), inner.send(staged, bytes, tag));
}

Expected<Request> StagedContext::staged_recv(Endpoint& inner, void* data, size_t bytes, uint32_t tag) {
  auto op = std::make_unique<Operation>();
  if (!is_device_pointer(data)) return wrap(std::move(op), inner.recv(data, bytes, tag));
  FB_TRY_ASSIGN(op->bounce, pool_.take(bytes));
  op->device_destination = data;
  op->bytes = bytes;
  void* staged = op->bounce.get();
  return wrap(std::move(op), inner.recv(staged, bytes, tag));
}

Expected<bool> StagedContext::test(Request& request) {
  if (request.completed()) return true;
  auto* op = static_cast<Operation*>(request.handle);
  auto done = inner_->test(op->inner);
  if (done.ok() && !done.value()) return false;
  std::unique_ptr<Operation> finished(op);
  request.handle = nullptr;
  Status landed = done.status();
  if (landed.ok() && finished->device_destination)
    landed = status_of(cudaMemcpy(finished->device_destination, finished->bounce.get(), finished->bytes,
                                  cudaMemcpyHostToDevice),
                       "cudaMemcpy (staged receive to device)", FB_HERE);
  if (finished->bounce) pool_.give(std::move(finished->bounce));
  if (!landed.ok()) return landed;
  return true;
}

std::map<std::string, std::string> StagedContext::describe() const {
  auto out = inner_->describe();
  out["data_path"] = "staged";
  return out;
}

Expected<std::unique_ptr<Context>> stage_for_cuda(std::unique_ptr<Context> inner) {
  FB_TRY(visible_device_count().status());
  return std::unique_ptr<Context>(new StagedContext(std::move(inner)));
}

namespace {
[[maybe_unused]] const bool kRegistered = [] {
  register_context_stager(MemoryKind::kCudaDevice, &stage_for_cuda);
  return true;
}();
}  // namespace

}  // namespace fb::cuda
