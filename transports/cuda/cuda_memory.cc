// The cuda (device) and cuda-pinned (page-locked host) memory kinds: allocators and copiers,
// registered when the program loads. Registration only stores functions; CUDA is initialised by
// the first allocation or copy, so a binary with this linked in runs unchanged without a GPU.
#include <cuda_runtime_api.h>

#include <memory>
#include <string>

#include "cuda_handles.h"
#include "cuda_status.h"
#include "fabricbench/transport/memory.h"

namespace fb::cuda {
namespace {

class DeviceBuffer final : public Buffer {
 public:
  explicit DeviceBuffer(DeviceMemory memory) : memory_(std::move(memory)) {}
  MemorySpan span() const override { return {memory_.get(), memory_.size(), MemoryKind::kCudaDevice}; }

 private:
  DeviceMemory memory_;
};

class PinnedBuffer final : public Buffer {
 public:
  explicit PinnedBuffer(PinnedMemory memory) : memory_(std::move(memory)) {}
  MemorySpan span() const override { return {memory_.get(), memory_.size(), MemoryKind::kCudaPinned}; }

 private:
  PinnedMemory memory_;
};

// A negative device means "this rank's": ranks on one host take the visible devices in turn.
Expected<int> device_for(const AllocOptions& options) {
  if (options.device >= 0) return options.device;
  FB_TRY_ASSIGN(const int devices, visible_device_count());
  return (options.local_rank < 0 ? 0 : options.local_rank) % devices;
}

Expected<std::unique_ptr<Buffer>> allocate_device(size_t bytes, const AllocOptions& options) {
  auto device = device_for(options);
  if (!device.ok())
    return device.status().with_context("allocating " + std::to_string(bytes) + " bytes of CUDA device memory");
  FB_TRY_ASSIGN(DeviceMemory memory, DeviceMemory::allocate(bytes, device.value()));
  return std::unique_ptr<Buffer>(new DeviceBuffer(std::move(memory)));
}

Expected<std::unique_ptr<Buffer>> allocate_pinned(size_t bytes, const AllocOptions&) {
  // Portable: the pages count as pinned for every device's context, not only the current one.
  FB_TRY_ASSIGN(PinnedMemory memory, PinnedMemory::allocate(bytes, cudaHostAllocPortable));
  return std::unique_ptr<Buffer>(new PinnedBuffer(std::move(memory)));
}

// cudaMemcpyDefault lets unified addressing find each side's kind (host, pinned or any device),
// so one copier serves every pair. A plain cudaMemcpy returns before a device-to-device copy has
// finished, so the copy goes on the thread's own stream and waits for it: the data is in place
// when this returns, whatever stream the next reader uses.
Status copy(MemorySpan to, MemorySpan from, size_t bytes) {
  cudaError_t error = cudaMemcpyAsync(to.data, from.data, bytes, cudaMemcpyDefault, cudaStreamPerThread);
  if (error == cudaSuccess) error = cudaStreamSynchronize(cudaStreamPerThread);
  if (error == cudaSuccess) return ok_status();
  return status_of(error,
                   "copy of " + std::to_string(bytes) + " bytes from " + std::string(to_string(from.kind)) +
                       " to " + std::string(to_string(to.kind)) + " memory (cudaMemcpyAsync)",
                   FB_HERE);
}

const bool kRegistered = [] {
  register_allocator(MemoryKind::kCudaDevice, &allocate_device);
  register_allocator(MemoryKind::kCudaPinned, &allocate_pinned);
  register_memory_copier(MemoryKind::kCudaDevice, &copy);
  register_memory_copier(MemoryKind::kCudaPinned, &copy);
  return true;
}();

}  // namespace
}  // namespace fb::cuda
