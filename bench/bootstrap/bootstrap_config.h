// Which bootstrap a run uses and its parameters, from command-line flags with environment
// fallbacks (flags win), checked up front so a mistake is reported before any rank waits.
// Without a flag or FABRICBENCH_BOOTSTRAP, a process started by mpirun or srun uses mpi.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "fabricbench/transport/status.h"

namespace fb {

inline constexpr std::chrono::milliseconds kDefaultBootstrapTimeout{std::chrono::seconds(60)};

// What the command line said; unset means "not given", so the environment may fill it in.
struct BootstrapFlags {
  std::optional<std::string> bootstrap;  // --bootstrap: "local", "tcp://HOST:PORT", "mpi"
  std::optional<int> rank;               // --rank
  std::optional<int> size;               // --size
  std::optional<std::string> token;      // --token
  std::optional<std::chrono::milliseconds> timeout;
};

struct BootstrapConfig {
  std::string kind = "local";  // "local", "tcp" or "mpi"
  std::string host;            // tcp: rank 0's host (IPv6 without brackets)
  uint16_t port = 0;
  // tcp: this rank and the job size. mpi: what the launcher's environment announced, -1 when
  // it said nothing (--bootstrap mpi alone); MPI's own numbers are checked against it. The
  // local launcher numbers its own ranks.
  int rank = -1;
  int size = -1;
  std::string token;  // tcp: must match on every rank; empty is a valid token
  std::chrono::milliseconds timeout = kDefaultBootstrapTimeout;
  // mpi: why ("--bootstrap", "FABRICBENCH_BOOTSTRAP", or the launcher variable that was seen).
  std::string detected_by;
};

using GetenvFn = std::function<const char*(const char*)>;

// A process started by a parallel launcher, as its environment shows.
struct LauncherEnv {
  std::string variable;  // the variable that gave it away, e.g. "OMPI_COMM_WORLD_RANK"
  std::string launcher;  // for messages: "mpirun", "srun", ...
  int rank = -1;         // -1 when the variable is not a whole number
  int size = -1;         // -1 when the launcher does not say
};

// Checks, in this order: OMPI_COMM_WORLD_RANK (Open MPI's mpirun), PMIX_RANK with
// PMIX_NAMESPACE (srun --mpi=pmix, prterun), PMI_RANK (srun --mpi=pmi2, MPICH's mpiexec), then
// SLURM_PROCID in a job step (SLURM_STEP_ID) of more than one task (srun without an MPI
// plugin). mpirun inside a Slurm job hands every rank the batch shell's SLURM_PROCID=0, so
// Slurm's variables only count when no MPI launcher's are present.
std::optional<LauncherEnv> detect_launcher(const GetenvFn& getenv_fn);

// Whether this build contains the mpi bootstrap.
bool mpi_bootstrap_built();

// Environment fallbacks: FABRICBENCH_BOOTSTRAP, FABRICBENCH_RANK, FABRICBENCH_SIZE,
// FABRICBENCH_TOKEN (an empty variable counts as unset), then detect_launcher(). Errors are
// kInvalidArgument and say what to change; mpi in a build without MPI is kUnavailable.
Expected<BootstrapConfig> resolve_bootstrap_config(const BootstrapFlags& flags,
                                                   const GetenvFn& getenv_fn);
// The same with the build's MPI support given, so tests can check both kinds of build.
Expected<BootstrapConfig> resolve_bootstrap_config(const BootstrapFlags& flags,
                                                   const GetenvFn& getenv_fn, bool mpi_built);

}  // namespace fb
