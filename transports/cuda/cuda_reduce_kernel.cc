#include "cuda_reduce_kernel.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cuda_handles.h"
#include "cuda_status.h"
#include "cuda_value_kernels.h"

namespace fb::cuda {
namespace {

// What a thread needs to run work on one device: its own stream (so threads never wait for
// each other), the grid size for that device, and a counter for count_wrong (allocated on
// first use, so only checking costs the allocation).
struct Lane {
  Stream stream;
  int multiprocessors = 1;
  DeviceMemory counter;
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

Status check_elements(const void* data, DataType type, std::string_view what) {
  if (!is_valid(type))
    return Status::error(StatusCode::kInvalidArgument,
                         "cuda kernel: " + std::string(what) + ": invalid data type " +
                             std::to_string(static_cast<int>(type)),
                         FB_HERE);
  if (reinterpret_cast<uintptr_t>(data) % element_size(type) != 0)
    return Status::error(StatusCode::kInvalidArgument,
                         "cuda kernel: " + std::string(what) + ": buffer " + address(data) + " not aligned to its " +
                             std::string(to_string(type)) + " elements",
                         FB_HERE);
  return ok_status();
}

std::string values_call(std::string_view what, size_t count, DataType type, int device) {
  return std::string(what) + " of " + std::to_string(count) + " " + std::string(to_string(type)) +
         " elements on CUDA device " + std::to_string(device);
}

// Two timing events on the thread's stream for the device. That stream carries this kernel's
// reductions and copies, and every call on it waits for its own work, so by the time stop() is
// recorded everything an invocation put there has run; the events bracket it on the GPU's
// clock. A non-blocking stream also keeps the events from waiting for other threads' work on
// the legacy default stream (ranks as threads sharing a GPU). Events are created with default
// flags: timing on, and elapsed_us() spins rather than sleeps for the stop event, which is
// already complete or about to be when it is asked.
class CudaTimer final : public DeviceTimer {
 public:
  CudaTimer(cudaStream_t stream, Event start, Event stop)
      : stream_(stream), start_(std::move(start)), stop_(std::move(stop)) {}

  Status start() override { return start_.record(stream_); }
  Status stop() override { return stop_.record(stream_); }
  Expected<double> elapsed_us() override {
    FB_TRY(stop_.synchronize());
    FB_TRY_ASSIGN(const float ms, stop_.elapsed_ms_since(start_));
    return static_cast<double>(ms) * 1e3;
  }

 private:
  cudaStream_t stream_;
  Event start_;
  Event stop_;
};

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

  Status fill(void* data, size_t count, DataType type, const ValueScheme& scheme) const override {
    FB_TRY(check_elements(data, type, "fill"));
    if (count == 0) return ok_status();
    FB_TRY_ASSIGN(const int device, device_of(data, "buffer to fill"));
    FB_TRY_ASSIGN(ScopedDevice on_device, ScopedDevice::set(device));
    FB_TRY_ASSIGN(Lane* lane, thread_lane(device));
    cudaError_t error = enqueue_fill(data, count, type, scheme, lane->multiprocessors, lane->stream.get());
    if (error == cudaSuccess) error = cudaStreamSynchronize(lane->stream.get());
    return status_of(error, values_call("fill", count, type, device), FB_HERE);
  }

  Expected<uint64_t> count_wrong(const void* data, size_t count, DataType type,
                                 const ValueScheme& scheme) const override {
    FB_TRY(check_elements(data, type, "check"));
    if (count == 0) return uint64_t{0};
    FB_TRY_ASSIGN(const int device, device_of(data, "buffer to check"));
    FB_TRY_ASSIGN(ScopedDevice on_device, ScopedDevice::set(device));
    FB_TRY_ASSIGN(Lane* lane, thread_lane(device));
    if (!lane->counter) {
      FB_TRY_ASSIGN(lane->counter, DeviceMemory::allocate(sizeof(unsigned long long), device));
    }
    auto* counter = static_cast<unsigned long long*>(lane->counter.get());
    cudaStream_t stream = lane->stream.get();
    unsigned long long wrong = 0;
    cudaError_t error = cudaMemsetAsync(counter, 0, sizeof(*counter), stream);
    if (error == cudaSuccess)
      error = enqueue_count_wrong(data, count, type, scheme, counter, lane->multiprocessors, stream);
    if (error == cudaSuccess) error = cudaMemcpyAsync(&wrong, counter, sizeof(wrong), cudaMemcpyDeviceToHost, stream);
    if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
    FB_TRY(status_of(error, values_call("check", count, type, device), FB_HERE));
    return static_cast<uint64_t>(wrong);
  }

  Expected<std::unique_ptr<DeviceTimer>> make_timer(const void* on) const override {
    FB_TRY_ASSIGN(const int device, device_of(on, "buffer to time work on"));
    FB_TRY_ASSIGN(ScopedDevice on_device, ScopedDevice::set(device));
    FB_TRY_ASSIGN(Lane* lane, thread_lane(device));
    FB_TRY_ASSIGN(Event start, Event::create(Event::Timing::kEnabled));
    FB_TRY_ASSIGN(Event stop, Event::create(Event::Timing::kEnabled));
    return std::unique_ptr<DeviceTimer>(new CudaTimer(lane->stream.get(), std::move(start), std::move(stop)));
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
