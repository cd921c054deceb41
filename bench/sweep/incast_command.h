#pragma once

#include "plan.h"

namespace fb {

// `fabricbench incast`: returns the process exit code.
int run_incast_command(const IncastPlan& plan);

}  // namespace fb
