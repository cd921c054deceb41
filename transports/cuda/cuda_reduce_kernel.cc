#include "cuda_reduce_kernel.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cuda_handles.h"
#include "cuda_status.h"

namespace fb::cuda {
namespace {

// What a thread needs to run work on one device: its own stream (so threads never wait for
// each other) and the grid size for that device.
struct Lane {
  Stream stream;
  int multiprocessors = 1;
};

// Per thread, indexed by device. Created on first use, so neither loading the program nor
// registering the kernel initialises CUDA. The calling thread's current device must be
// `device` (the caller holds a ScopedDevice).
Expected<Lane*> thread_lane(int device) {
  thread_local std::vector<std::unique_ptr<Lane>> lanes;
  if (device < 0) return Status::error(StatusCode::kInternal, "negative CUDA device", FB_HERE);
  const auto index = static_cast<size_t>(device);
  if (index >= lanes.size()) lanes.resize(index + 1);
  if (!lanes[index]) {
    auto lane = std::make_unique<Lane>();
    FB_TRY_ASSIGN(lane->stream, Stream::create());
    FB_CUDA_TRY(cudaDeviceGetAttribute(&lane->multiprocessors, cudaDevAttrMultiProcessorCount, device));
    lanes[index] = std::move(lane);
  }
  return lanes[index].get();
}

std::string address(const void* pointer) {
  char text[32];
  std::snprintf(text, sizeof text, "%p", pointer);
  return text;
}

// The device that holds `pointer`; kInvalidArgument when it is not device (or managed) memory,
// which a kernel would otherwise fault on and leave the whole CUDA context unusable.
Expected<int> device_of(const void* pointer, std::string_view what) {
  cudaPointerAttributes attributes{};
  const cudaError_t error = cudaPointerGetAttributes(&attributes, pointer);
  if (error != cudaSuccess) {
    (void)cudaGetLastError();  // not the next launch's error
    return status_of(error, "cudaPointerGetAttributes for the " + std::string(what), FB_HERE);
  }
  if (attributes.type != cudaMemoryTypeDevice && attributes.type != cudaMemoryTypeManaged)
    return Status::error(StatusCode::kInvalidArgument,
                         "cuda kernel: the " + std::string(what) + " " + address(pointer) +
                             " is not CUDA device memory (" +
                             (attributes.type == cudaMemoryTypeHost ? "pinned host" : "host") +
                             " memory: use the host kernel or copy it to the device)",
                         FB_HERE);
  return attributes.device;
}

class CudaReduceKernel final : public ReduceKernel {
 public:
  std::string_view name() const override { return "cuda"; }
  MemoryKind memory() const override { return MemoryKind::kCudaDevice; }

  Status copy(void* to, const void* from, size_t bytes) const override {
    if (bytes == 0 || to == from) return ok_status();
    FB_TRY_ASSIGN(const int device, device_of(to, "copy destination"));
    FB_TRY(device_of(from, "copy source").status());
    FB_TRY_ASSIGN(ScopedDevice on_device, ScopedDevice::set(device));
    FB_TRY_ASSIGN(Lane* lane, thread_lane(device));
    cudaError_t error = cudaMemcpyAsync(to, from, bytes, cudaMemcpyDefault, lane->stream.get());
    if (error == cudaSuccess) error = cudaStreamSynchronize(lane->stream.get());
    if (error == cudaSuccess) return ok_status();
    return status_of(error,
                     "device copy of " + std::to_string(bytes) + " bytes on CUDA device " +
                         std::to_string(device),
                     FB_HERE);
  }

 protected:
  Status reduce_checked(void* out, const void* a, const void* b, size_t count, DataType type,
                        ReduceOp op) const override {
    FB_TRY_ASSIGN(const int device, device_of(out, "reduce output"));
    if (a != out) FB_TRY(device_of(a, "reduce input").status());
    if (b != out) FB_TRY(device_of(b, "reduce input").status());
    FB_TRY_ASSIGN(ScopedDevice on_device, ScopedDevice::set(device));
    FB_TRY_ASSIGN(Lane* lane, thread_lane(device));
    cudaError_t error = enqueue_reduce(out, a, b, count, type, op, lane->multiprocessors, lane->stream.get());
    // A fault inside the kernel shows up only here, at the wait.
    if (error == cudaSuccess) error = cudaStreamSynchronize(lane->stream.get());
    if (error == cudaSuccess) return ok_status();
    return status_of(error,
                     "reduce (" + std::string(to_string(type)) + " " + std::string(to_string(op)) + ", " +
                         std::to_string(count) + " elements) on CUDA device " + std::to_string(device),
                     FB_HERE);
  }
};

const bool kRegistered = [] {
  // The only failure is a second registration for the kind, which keeps the first kernel.
  const Status status = register_reduce_kernel(make_cuda_reduce_kernel());
  return status.ok();
}();

}  // namespace

std::unique_ptr<ReduceKernel> make_cuda_reduce_kernel() { return std::make_unique<CudaReduceKernel>(); }

}  // namespace fb::cuda
