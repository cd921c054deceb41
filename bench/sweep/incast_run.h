#pragma once

#include "fabricbench/transport/bootstrap.h"
#include "plan.h"
#include "runner/run_report.h"

namespace fb {

// Incast: fan_in hosts stream into one receiver at once, one burst (window x size from each
// sender) per iteration, and the receiver times when each sender's burst has fully arrived.
// With --congestion, a victim pair (two hosts outside the incast) is measured alone and again
// while the incast runs, giving GPCNET's congestion impact factors. One rank per host takes
// part (the host's lowest rank). Returns the first failure.
Status run_incast_rank(const IncastPlan& plan, Bootstrap& bootstrap, RunReport* report);

}  // namespace fb
