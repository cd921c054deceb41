// Runs a collective plan on this rank: for every data type, reduce op, size and algorithm, it
// fills the inputs, runs warm-up iterations, times back-to-back iterations after a barrier,
// checks the output exactly, and gathers every rank's numbers to rank 0, which delivers one
// record per case to `sink`.
#pragma once

#include "fabricbench/transport/bootstrap.h"
#include "plan.h"
#include "runner/record_sink.h"

namespace fb {

// Returns the first failure: a transport error ends the run (the collective's state is
// unknown); wrong elements fail their record and the run, but the sweep goes on.
Status run_collective_rank(const CollectivePlan& plan, Bootstrap& bootstrap, RecordSink* sink);

}  // namespace fb
