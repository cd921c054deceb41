#pragma once

#include "fabricbench/transport/bootstrap.h"
#include "plan.h"
#include "runner/record_sink.h"

namespace fb {

// Runs the point-to-point plan on this rank. Ranks pair up as (0,1), (2,3), ...; rank 0
// receives `sink` and delivers one record per (test, size). Returns the first failure.
Status run_p2p_rank(const P2pPlan& plan, Bootstrap& bootstrap, RecordSink* sink);

}  // namespace fb
