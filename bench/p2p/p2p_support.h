// The parts of a point-to-point measurement that p2p and the fabric sweeps share: defaults per
// test and size, why a test cannot run, the record's identity, and the pair's buffers.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fabricbench/transport/bootstrap.h"
#include "fabricbench/transport/transport.h"
#include "p2p/pair_session.h"
#include "plan.h"
#include "results/record.h"

namespace fb {

std::string local_host_name();

// What one (test, size) runs: warm-up and iterations from the plan or the defaults.
SizeRun size_run_for(const P2pPlan& plan, P2pTest test, uint64_t bytes);

// Why a (test, op, size) cannot run with this transport and memory, or empty if it can.
std::string p2p_skip_reason(const P2pPlan& plan, const Capabilities& caps, P2pTest test, uint64_t bytes);

RecordIdentity p2p_identity(const P2pPlan& plan, std::string benchmark, P2pTest test, uint64_t bytes, int ranks,
                            const std::map<std::string, std::string>& transport_details);

// The soak summary of what an initiator measured in a time-bounded run; empty otherwise.
std::optional<SoakSummary> soak_of(const P2pPlan& plan, const SizeRun& run, const RankMeasurement& measured);

// Send and receive buffers of the largest size, registered and exchanged with every rank
// when the transport does one-sided operations.
struct PairResources {
  std::unique_ptr<Buffer> send, recv;
  std::unique_ptr<MemRegion> send_region, recv_region;
  std::vector<std::unique_ptr<RemoteRegion>> peer_send, peer_recv;

  PairBuffers for_peer(int peer) const;
};

// Collective (every rank calls it).
Expected<PairResources> prepare_pair_buffers(const P2pPlan& plan, Context& context, Bootstrap& bootstrap);

}  // namespace fb
