// Pins a local rank to a core or a NUMA node, so ranks do not migrate mid-measurement and
// transports pick resources near them.
#pragma once

#include <string>

#include "fabricbench/transport/status.h"
#include "plan.h"

namespace fb {

// Returns what was done ("core 3", "numa 0 (cpus 0-15)", "none") for the record.
Expected<std::string> bind_local_rank(BindPolicy policy, int local_rank);

}  // namespace fb
