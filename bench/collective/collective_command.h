#pragma once

#include "plan.h"

namespace fb {

// fabricbench allreduce|allgather|reducescatter|alltoall: returns the process exit code.
int run_collective_command(const CollectivePlan& plan);

}  // namespace fb
