// One rank's endpoint to a peer: the hot path. Every operation is one UCX call plus a few
// stores; nothing allocates, formats or looks anything up unless an operation fails.
#pragma once

#include <cstdint>

#include "fabricbench/transport/transport.h"
#include "ucx_handles.h"

namespace fb::ucx {

// UCP tags carry the user's tag in the upper 32 bits and the sender's rank in the lower 32,
// and receives match all 64 bits, so recv(peer, tag) only ever matches that peer's messages.
inline ucp_tag_t wire_tag(uint32_t tag, int sender) {
  return (static_cast<ucp_tag_t>(tag) << 32) | static_cast<uint32_t>(sender);
}
inline constexpr ucp_tag_t kMatchAll = ~ucp_tag_t{0};
inline constexpr uint64_t kSenderBits = 0xffffffffu;

class UcxEndpoint final : public Endpoint {
 public:
  UcxEndpoint(ucp_worker_h worker, EpPtr ep, int self, int peer)
      : worker_(worker), ep_(std::move(ep)), self_(self), peer_(peer) {}

  int peer() const override { return peer_; }

  Expected<Request> send(const void* data, size_t bytes, uint32_t tag) override;
  Expected<Request> recv(void* data, size_t bytes, uint32_t tag) override;
  Expected<Request> put(const void* data, size_t bytes, const MemRegion& local,
                        const RemoteRegion& remote, size_t remote_offset) override;
  Expected<Request> get(void* data, size_t bytes, const MemRegion& local,
                        const RemoteRegion& remote, size_t remote_offset) override;
  Expected<Request> flush() override;

  ucp_ep_h handle() const { return ep_.get(); }
  // Hands the UCP endpoint over for an orderly close; later operations fail cleanly.
  ucp_ep_h release() { return ep_.release(); }

 private:
  ucp_worker_h worker_;
  EpPtr ep_;
  int self_;
  int peer_;
};

}  // namespace fb::ucx
