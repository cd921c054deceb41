#pragma once

#include "plan.h"

namespace fb {

// `fabricbench p2p`: launches the ranks, runs the plan, reports; returns the exit code.
int run_p2p_command(const P2pPlan& plan);

}  // namespace fb
