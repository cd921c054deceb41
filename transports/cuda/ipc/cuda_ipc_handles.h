// What cuda-ipc needs beyond cuda_handles.h: the allocation a device pointer lies in (IPC
// exports whole allocations, so a buffer travels as allocation + offset) and an owner for a
// peer's allocation opened in this process.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "fabricbench/transport/status.h"

namespace fb::cuda_ipc {

struct Allocation {
  std::byte* base = nullptr;
  size_t size = 0;
  uint64_t id = 0;  // unique per allocation for the life of the process, never reused
};

// The device allocation containing [data, data + bytes); kUnsupported for memory that is not
// CUDA device memory (host, pinned or managed memory cannot be exported with cudaIpc*).
Expected<Allocation> find_allocation(const void* data, size_t bytes);

// A peer's allocation mapped into this process by cudaIpcOpenMemHandle, closed on destruction.
class IpcMapping {
 public:
  IpcMapping() = default;
  static Expected<IpcMapping> open(const cudaIpcMemHandle_t& handle, int peer);
  IpcMapping(IpcMapping&& other) noexcept : base_(std::exchange(other.base_, nullptr)) {}
  IpcMapping& operator=(IpcMapping&& other) noexcept {
    IpcMapping(std::move(other)).swap(*this);
    return *this;
  }
  IpcMapping(const IpcMapping&) = delete;
  ~IpcMapping();

  std::byte* base() const { return base_; }
  void swap(IpcMapping& other) noexcept { std::swap(base_, other.base_); }

 private:
  std::byte* base_ = nullptr;
};

}  // namespace fb::cuda_ipc
