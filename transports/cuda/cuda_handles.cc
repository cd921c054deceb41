#include "cuda_handles.h"

#include <string>

#include "cuda_status.h"

namespace fb::cuda {

Expected<int> visible_device_count() {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    // The failure is also kept as the thread's last error; clear it, or the next launch check
    // (cudaGetLastError) would report it as its own.
    (void)cudaGetLastError();
    return Status::error(StatusCode::kUnavailable,
                         std::string("no CUDA device visible: ") + cudaGetErrorName(error) + ": " +
                             cudaGetErrorString(error),
                         FB_HERE);
  }
  if (count == 0)
    return Status::error(StatusCode::kUnavailable,
                         "no CUDA device visible: the driver reports 0 devices (CUDA_VISIBLE_DEVICES?)",
                         FB_HERE);
  return count;
}

Expected<ScopedDevice> ScopedDevice::set(int device) {
  int previous = 0;
  FB_CUDA_TRY(cudaGetDevice(&previous));
  if (previous == device) return ScopedDevice(-1);
  FB_TRY(status_of(cudaSetDevice(device), "cudaSetDevice(" + std::to_string(device) + ")", FB_HERE));
  return ScopedDevice(previous);
}

ScopedDevice::~ScopedDevice() {
  if (previous_ >= 0) (void)cudaSetDevice(previous_);
}

Expected<DeviceMemory> DeviceMemory::allocate(size_t bytes, int device) {
  const std::string what = "cudaMalloc of " + std::to_string(bytes) + " bytes on CUDA device " +
                           std::to_string(device);
  auto on_device = ScopedDevice::set(device);
  if (!on_device.ok()) return on_device.status().with_context(what).through(FB_HERE);
  DeviceMemory memory;
  const cudaError_t error = cudaMalloc(&memory.data_, bytes == 0 ? 1 : bytes);
  if (error != cudaSuccess) {
    (void)cudaGetLastError();  // reported here; not the next launch check's error
    return status_of(error, what, FB_HERE);
  }
  memory.size_ = bytes;
  memory.device_ = device;
  return memory;
}

DeviceMemory::~DeviceMemory() {
  // cudaFree synchronises with the owning device whatever the current one is.
  if (data_) (void)cudaFree(data_);
}

Expected<PinnedMemory> PinnedMemory::allocate(size_t bytes, unsigned flags) {
  PinnedMemory memory;
  const cudaError_t error = cudaHostAlloc(&memory.data_, bytes == 0 ? 1 : bytes, flags);
  if (error != cudaSuccess)
    return status_of(error, "cudaHostAlloc of " + std::to_string(bytes) + " bytes of pinned host memory",
                     FB_HERE);
  memory.size_ = bytes;
  return memory;
}

PinnedMemory::~PinnedMemory() {
  if (data_) (void)cudaFreeHost(data_);
}

Expected<Stream> Stream::create(unsigned flags) {
  Stream stream;
  FB_CUDA_TRY(cudaStreamCreateWithFlags(&stream.stream_, flags));
  return stream;
}

Stream::~Stream() {
  if (stream_) (void)cudaStreamDestroy(stream_);
}

Status Stream::synchronize() const { return status_of(cudaStreamSynchronize(stream_), "cudaStreamSynchronize", FB_HERE); }

Expected<Event> Event::create(Timing timing) {
  Event event;
  const unsigned flags = timing == Timing::kEnabled ? cudaEventDefault : cudaEventDisableTiming;
  FB_CUDA_TRY(cudaEventCreateWithFlags(&event.event_, flags));
  return event;
}

Event::~Event() {
  if (event_) (void)cudaEventDestroy(event_);
}

Status Event::record(cudaStream_t stream) const {
  return status_of(cudaEventRecord(event_, stream), "cudaEventRecord", FB_HERE);
}

Status Event::synchronize() const {
  return status_of(cudaEventSynchronize(event_), "cudaEventSynchronize", FB_HERE);
}

Expected<float> Event::elapsed_ms_since(const Event& start) const {
  float ms = 0;
  FB_CUDA_TRY(cudaEventElapsedTime(&ms, start.event_, event_));
  return ms;
}

}  // namespace fb::cuda
