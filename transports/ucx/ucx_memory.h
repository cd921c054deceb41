// Registered memory and imported remote keys. Both keep the worker state alive: remote keys
// come from the worker's memory pool and memory handles belong to the UCP context, so a region
// outliving its Context must still be released safely.
#pragma once

#include <cstdint>
#include <memory>

#include "fabricbench/transport/transport.h"
#include "ucx_handles.h"

namespace fb::ucx {

class UcxMemRegion final : public MemRegion {
 public:
  static Expected<std::unique_ptr<MemRegion>> map(std::shared_ptr<WorkerState> state,
                                                  MemorySpan memory);

  MemorySpan span() const override { return span_; }
  Bytes pack() const override { return packed_; }

  ucp_mem_h memh() const { return memh_.get(); }
  bool contains(const void* data, size_t bytes) const {
    const auto* first = static_cast<const std::byte*>(data);
    const auto* base = static_cast<const std::byte*>(span_.data);
    return first >= base && bytes <= span_.size && first - base <= static_cast<ptrdiff_t>(span_.size - bytes);
  }

 private:
  UcxMemRegion(std::shared_ptr<WorkerState> state, MemorySpan span, MemPtr memh, Bytes packed)
      : state_(std::move(state)), span_(span), memh_(std::move(memh)), packed_(std::move(packed)) {}

  std::shared_ptr<WorkerState> state_;  // first member: released last
  MemorySpan span_;
  MemPtr memh_;   // null for an empty span, which needs no registration
  Bytes packed_;  // computed once: pack() is called per peer exchange
};

class UcxRemoteRegion final : public RemoteRegion {
 public:
  // `ep` is this rank's endpoint to `peer`; remote keys are bound to the endpoint they were
  // unpacked with.
  static Expected<std::unique_ptr<RemoteRegion>> import(std::shared_ptr<WorkerState> state,
                                                        ucp_ep_h ep, int peer, ByteSpan packed);

  int peer() const override { return peer_; }
  size_t size() const override { return size_; }

  uint64_t address() const { return address_; }
  ucp_rkey_h rkey() const { return rkey_.get(); }

 private:
  UcxRemoteRegion(std::shared_ptr<WorkerState> state, int peer, uint64_t address, size_t size,
                  RkeyPtr rkey)
      : state_(std::move(state)), peer_(peer), address_(address), size_(size), rkey_(std::move(rkey)) {}

  std::shared_ptr<WorkerState> state_;  // first member: released last
  int peer_;
  uint64_t address_;
  size_t size_;
  RkeyPtr rkey_;  // null for an empty region
};

}  // namespace fb::ucx
