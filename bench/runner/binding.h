// Pins a local rank to a core or a NUMA node, so ranks do not migrate mid-measurement and
// transports pick resources near them.
#pragma once

#include <string>

#include "fabricbench/transport/status.h"
#include "plan.h"

namespace fb {

// Returns what was done ("core 3", "numa 0 (cpus 0-15)", "none") for the record.
Expected<std::string> bind_local_rank(BindPolicy policy, int local_rank);

// The progress mode a rank runs with: the plan's, or with --progress auto, event when
// `local_ranks` exceed the cores this process may run on. Spinning ranks that share a core
// only run when the scheduler preempts a spinner: an all-reduce over 4 ranks on 2 cores took
// 45 ms per 4 MiB iteration polling and 7.7 ms sleeping on the transport's event channel.
ProgressMode progress_mode_for(const CommonPlan& plan, int local_ranks);

}  // namespace fb
