#pragma once

#include "plan.h"

namespace fb {

// `fabricbench pairs`: returns the process exit code.
int run_pairs_command(const PairsPlan& plan);

}  // namespace fb
