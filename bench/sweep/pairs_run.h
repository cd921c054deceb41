#pragma once

#include "fabricbench/transport/bootstrap.h"
#include "plan.h"
#include "runner/run_report.h"

namespace fb {

// Runs the all-pairs sweep on this rank: every host pair (or the sample, or the list) in
// rounds of disjoint pairs, one record per ordered pair and size; rank 0 (report non-null)
// then names the slow hosts and links, retests them once, and puts the verdict in the
// report. Returns the first failure.
Status run_pairs_rank(const PairsPlan& plan, Bootstrap& bootstrap, RunReport* report);

}  // namespace fb
