// Connecting a rank's RC QPs with librdmacm (rdma_cm=1, --rdma-cm) instead of exchanging QP
// numbers and GIDs through the bootstrap: each rank listens on its device's IPv4 address,
// and for each pair of ranks the lower one connects and the higher one accepts. The QPs stay
// the context's own (created on its PD and CQ, already in INIT): the CM only carries the
// handshake, and each side moves its QP to RTR and RTS with the attributes the CM negotiated
// (rdma_init_qp_attr), then with the transport's own settings on top, so the operations
// cannot tell how their QP was connected.
#pragma once

#include <rdma/rdma_cma.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fabricbench/transport/deadline.h"
#include "fabricbench/transport/status.h"

namespace fb::verbs {

struct CmChannelDeleter {
  void operator()(rdma_event_channel* channel) const { rdma_destroy_event_channel(channel); }
};
using CmChannelPtr = std::unique_ptr<rdma_event_channel, CmChannelDeleter>;

struct CmIdDeleter {
  void operator()(rdma_cm_id* id) const { rdma_destroy_id(id); }
};
using CmIdPtr = std::unique_ptr<rdma_cm_id, CmIdDeleter>;

// Where a rank's listener waits.
struct CmAddress {
  std::array<uint8_t, 4> ip{};
  uint16_t port = 0;
};
std::string to_string(const CmAddress& address);

// What the transport sets on every QP over what the CM negotiated.
struct CmQpSettings {
  int path_mtu = 0;       // enum ibv_mtu ceiling (the MTU agreed by every rank)
  int ack_timeout = 14;
  int retry_count = 7;
  int rnr_retry = 7;
  int min_rnr_timer = 12;
  int traffic_class = 0;
  int service_level = 0;
  uint8_t rd_atomic = 1;  // RDMA READs in flight each way
};

class CmConnector {
 public:
  // Opens the event channel and a listener bound to `ip` on a port the kernel picks.
  static Expected<std::unique_ptr<CmConnector>> listen(const std::array<uint8_t, 4>& ip, int rank,
                                                       std::string device_name);
  ~CmConnector();  // rdma_cm_ids go before their event channel
  CmAddress address() const { return address_; }

  // Connects qps[peer] to every peer's QP for this rank (qps[rank] is skipped: it is
  // connected to itself without the CM); peers[p] is where rank p listens. Collective.
  Status connect_all(std::span<ibv_qp* const> qps, std::span<const CmAddress> peers,
                     const CmQpSettings& settings, const Deadline& deadline);

 private:
  enum class Stage : uint8_t { kResolvingAddress, kResolvingRoute, kConnecting, kAccepting, kConnected };
  CmConnector(CmChannelPtr channel, CmIdPtr listener, CmAddress address, int rank, std::string device_name);
  Status to_rts(rdma_cm_id* id, ibv_qp* qp, int peer, const CmQpSettings& settings);
  Status check_device(rdma_cm_id* id, int peer) const;
  std::string pending_summary(std::span<const CmAddress> peers) const;

  CmChannelPtr channel_;  // declared first: destroyed after every id
  CmIdPtr listener_;
  std::vector<CmIdPtr> ids_;   // per peer: the connection's id (active or accepted)
  std::vector<Stage> stages_;  // per peer
  CmAddress address_;
  int rank_ = 0;
  std::string device_name_;
};

}  // namespace fb::verbs
