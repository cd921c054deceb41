// Owners of CUDA runtime handles: each frees its handle in its destructor (errors there are
// dropped: a destructor has no one to report to, and at process exit the runtime may already be
// unloading). Creation returns Expected, never throws, and initialises CUDA only when called.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "fabricbench/transport/status.h"

namespace fb::cuda {

// How many CUDA devices this process sees; kUnavailable, with the runtime's reason ("no CUDA
// device visible: ..."), when there is none or the driver cannot be loaded.
Expected<int> visible_device_count();

// Makes `device` the calling thread's current device and restores the previous one on
// destruction, so library code can work on a buffer's device without moving its caller.
class ScopedDevice {
 public:
  static Expected<ScopedDevice> set(int device);
  ScopedDevice(ScopedDevice&& other) noexcept : previous_(std::exchange(other.previous_, -1)) {}
  ScopedDevice& operator=(ScopedDevice&&) = delete;
  ScopedDevice(const ScopedDevice&) = delete;
  ~ScopedDevice();

 private:
  explicit ScopedDevice(int previous) : previous_(previous) {}
  int previous_;  // -1: nothing to restore
};

// Device memory from cudaMalloc on one device.
class DeviceMemory {
 public:
  DeviceMemory() = default;
  // Zero bytes still gives a valid, distinct address (one byte is allocated), as host memory
  // does. The calling thread's current device is left unchanged. Errors name device and size.
  static Expected<DeviceMemory> allocate(size_t bytes, int device);
  DeviceMemory(DeviceMemory&& other) noexcept { swap(other); }
  DeviceMemory& operator=(DeviceMemory&& other) noexcept {
    DeviceMemory(std::move(other)).swap(*this);
    return *this;
  }
  ~DeviceMemory();

  void* get() const { return data_; }
  size_t size() const { return size_; }
  int device() const { return device_; }
  explicit operator bool() const { return data_ != nullptr; }
  void swap(DeviceMemory& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(device_, other.device_);
  }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
  int device_ = -1;
};

// Page-locked host memory from cudaHostAlloc (flags: cudaHostAllocDefault, ...Portable, ...).
class PinnedMemory {
 public:
  PinnedMemory() = default;
  // Zero bytes still gives a valid address (one byte is allocated). Errors name the size.
  static Expected<PinnedMemory> allocate(size_t bytes, unsigned flags = cudaHostAllocDefault);
  PinnedMemory(PinnedMemory&& other) noexcept { swap(other); }
  PinnedMemory& operator=(PinnedMemory&& other) noexcept {
    PinnedMemory(std::move(other)).swap(*this);
    return *this;
  }
  ~PinnedMemory();

  void* get() const { return data_; }
  size_t size() const { return size_; }
  explicit operator bool() const { return data_ != nullptr; }
  void swap(PinnedMemory& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// A stream on the calling thread's current device. Non-blocking by default, so it never
// serialises with work on the legacy default stream.
class Stream {
 public:
  Stream() = default;
  static Expected<Stream> create(unsigned flags = cudaStreamNonBlocking);
  Stream(Stream&& other) noexcept : stream_(std::exchange(other.stream_, nullptr)) {}
  Stream& operator=(Stream&& other) noexcept {
    Stream(std::move(other)).swap(*this);
    return *this;
  }
  ~Stream();

  cudaStream_t get() const { return stream_; }
  explicit operator bool() const { return stream_ != nullptr; }
  Status synchronize() const;
  void swap(Stream& other) noexcept { std::swap(stream_, other.stream_); }

 private:
  cudaStream_t stream_ = nullptr;
};

// An event on the calling thread's current device. Timing costs a little on every record, so
// events that only order or wait for work leave it off.
class Event {
 public:
  enum class Timing { kDisabled, kEnabled };

  Event() = default;
  static Expected<Event> create(Timing timing = Timing::kDisabled);
  Event(Event&& other) noexcept : event_(std::exchange(other.event_, nullptr)) {}
  Event& operator=(Event&& other) noexcept {
    Event(std::move(other)).swap(*this);
    return *this;
  }
  ~Event();

  cudaEvent_t get() const { return event_; }
  explicit operator bool() const { return event_ != nullptr; }
  Status record(cudaStream_t stream) const;
  Status synchronize() const;
  // Milliseconds from `start` to this event; both must have completed and have timing on.
  Expected<float> elapsed_ms_since(const Event& start) const;
  void swap(Event& other) noexcept { std::swap(event_, other.event_); }

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace fb::cuda
