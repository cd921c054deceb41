// Starts the ranks this process is responsible for: all of them with the local bootstrap
// (forked processes, or threads for in-process transports), or just this one when launched
// by tcp rendezvous, or under mpirun/srun through MPI.
#pragma once

#include <functional>

#include "fabricbench/transport/bootstrap.h"
#include "plan.h"

namespace fb {

using RankMain = std::function<Status(Bootstrap&)>;

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Runs rank_main on every rank of this process and returns the process exit code. Each rank
// prints its own failure; the launcher adds what only it knows (a rank killed by a signal).
int launch_ranks(const CommonPlan& plan, bool ranks_as_threads, const RankMain& rank_main);

}  // namespace fb
