// Pins a local rank to a core or a NUMA node, so ranks do not migrate mid-measurement and
// transports pick resources near them.
#pragma once

#include <string>

#include "fabricbench/transport/status.h"
#include "plan.h"

namespace fb {

// Returns what was done ("core 3", "numa 0 (cpus 0-15)", "none") for the record.
Expected<std::string> bind_local_rank(BindPolicy policy, int local_rank);

// The progress mode a rank runs with: the plan's, or with --progress auto, yield when
// `local_ranks` exceed this host's cores. Spinning ranks that share a core only run when the
// scheduler preempts a spinner; sleeping on the transport's event channel costs a wake-up per
// message; yielding after each progress pass hands the core to a rank that has work. Measured
// with 4 ranks on 2 cores over UCX shared memory (time per all-reduce): 4 MiB poll 45 ms,
// event 7.7 ms; 4 KiB event 308-603 us, yield 63 us; 2 MiB event 4.6-5.1 ms, yield 3.0-3.5 ms;
// all-gather 256 KiB event 304-319 us, yield 157-163 us.
ProgressMode progress_mode_for(const CommonPlan& plan, int local_ranks);

}  // namespace fb
