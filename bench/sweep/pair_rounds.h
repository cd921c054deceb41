// Measuring rounds of disjoint host pairs: in each round every pair runs at once, rank k of
// one host with rank k of the other (so a host with one rank per NIC measures every rail).
// Rounds are separated by barriers, so no transfer of one round overlaps the next.
#pragma once

#include <functional>
#include <vector>

#include "fabric/host_map.h"
#include "fabric/schedule.h"
#include "p2p/p2p_record.h"
#include "p2p/p2p_support.h"

namespace fb {

// What the ranks of one host pair measured for one size, as rank 0 receives it.
struct PairOutcome {
  HostPair hosts;  // (from, to): from's ranks initiate
  size_t size_index = 0;
  std::vector<RankResult> ranks;
};

struct RoundContext {
  const P2pPlan& plan;  // one test in plan.tests
  const HostMap& hosts;
  Context& context;
  const PairResources& buffers;
  Bootstrap& bootstrap;
};

// Called on rank 0 with each round's outcomes, in round order.
using RoundDone = std::function<Status(int round, const std::vector<PairOutcome>&)>;

// Collective. A measurement that fails is reported in its outcome, not returned; a failing
// bootstrap (a rank gone) is returned.
Status measure_rounds(const RoundContext& ctx, const std::vector<PairRound>& rounds, const RoundDone& done);

}  // namespace fb
