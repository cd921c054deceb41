// The embedded default: launch_local() forks np ranks on this host and serves their
// exchanges itself. The launcher is not a rank; it is the hub of a star of socketpairs, so
// it sees every rank's exit and can tell the survivors exactly which rank died and how.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "bootstrap/unique_fd.h"
#include "fabricbench/transport/bootstrap.h"
#include "fabricbench/transport/status.h"

namespace fb {

// A rank's view, inside a child of launch_local(). Not thread-safe: one exchange at a time.
class LocalBootstrap final : public Bootstrap {
 public:
  LocalBootstrap(UniqueFd launcher, int rank, int size, std::chrono::milliseconds timeout);

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return rank_; }
  int local_size() const override { return size_; }
  std::string kind() const override { return "local"; }
  // After a failed exchange every later one fails the same way: the job is over.
  Expected<std::vector<Bytes>> allgather(ByteSpan mine) override;

 private:
  UniqueFd launcher_;
  int rank_;
  int size_;
  Status failure_;
};

struct LocalLaunchOptions {
  int np = 1;
  // Per exchange, counted from the first rank's contribution. The launcher enforces this
  // value even if a rank later calls set_timeout() on its bootstrap.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // Once the job has failed, ranks get this long to report and exit before they are killed.
  std::chrono::milliseconds abort_grace{std::chrono::seconds(2)};
};

struct RankExit {
  int rank = -1;
  pid_t pid = -1;
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // 0 when it exited
  bool killed_by_launcher = false;  // it outlived a failed job's abort_grace
};

struct LocalLaunchResult {
  std::vector<RankExit> ranks;  // indexed by rank; empty if no rank was started
  Status status;                // ok when every rank exited 0 and no exchange failed
};

// Forks opts.np children; each runs rank_main with its LocalBootstrap and exits with its
// return value (stdout and stderr flushed first). Returns once every child has been reaped.
// SIGINT and SIGTERM are passed on to the ranks while they run and fail the job (a second
// signal, or abort_grace later, kills what is left); the calling thread must be the only one
// that would receive those signals meanwhile. Fork from a process whose other threads hold
// no locks the ranks need.
LocalLaunchResult launch_local(const LocalLaunchOptions& opts,
                               const std::function<int(Bootstrap&)>& rank_main);

// "exited with code 3", "was killed by signal 9 (Killed)", from a waitpid() status.
std::string describe_wait_status(int wait_status);

}  // namespace fb
