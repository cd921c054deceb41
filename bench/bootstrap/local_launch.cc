// The launcher side of the local bootstrap: fork the ranks, serve their exchanges as the hub,
// pass signals on, reap them and say which ones failed.
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <optional>
#include <thread>

#include "bootstrap/local_bootstrap.h"
#include "bootstrap/signal_catcher.h"
#include "bootstrap/star_hub.h"

namespace fb {
namespace {

// How long a rank whose connection closed may take to become reapable: the kernel closes
// a dying process's files a moment before it turns into a zombie.
constexpr std::chrono::milliseconds kExitSettle{2000};

std::string signal_name(int sig) {
  const char* name = ::strsignal(sig);
  return "signal " + std::to_string(sig) + (name ? " (" + std::string(name) + ")" : "");
}

// Exit codes are 8 bits: a rank_main result that would wrap to 0 must still read as failure.
int exit_code_for(int rc) { return rc != 0 && (rc & 0xff) == 0 ? 1 : rc & 0xff; }

int run_rank_main(const std::function<int(Bootstrap&)>& rank_main, Bootstrap& bootstrap) {
  try {
    return rank_main(bootstrap);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: uncaught exception: %s\n", bootstrap.rank(), e.what());
  } catch (...) {
    std::fprintf(stderr, "rank %d: uncaught exception\n", bootstrap.rank());
  }
  return 1;
}

struct Socketpairs {
  std::vector<UniqueFd> launcher_ends;
  std::vector<UniqueFd> rank_ends;
};

Expected<Socketpairs> make_socketpairs(int n) {
  Socketpairs out;
  for (int r = 0; r < n; ++r) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      return Status::from_errno(errno, "socketpair", FB_HERE);
    out.launcher_ends.emplace_back(fds[0]);
    out.rank_ends.emplace_back(fds[1]);
  }
  return out;
}

[[noreturn]] void run_child(int rank, const LocalLaunchOptions& opts, pid_t launcher,
                            Socketpairs& pairs, SignalCatcher& signals,
                            const std::function<int(Bootstrap&)>& rank_main) {
  signals.release_in_child();
  // A rank must hold only its own end: a sibling's end kept open here would hide that
  // sibling's death from the launcher.
  UniqueFd mine = std::move(pairs.rank_ends[rank]);
  for (UniqueFd& fd : pairs.launcher_ends) fd.reset();
  for (UniqueFd& fd : pairs.rank_ends) fd.reset();
  // Ranks must not outlive a launcher that was killed outright.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != launcher) ::_exit(1);
  int rc = 1;
  {
    LocalBootstrap bootstrap(std::move(mine), rank, opts.np, opts.timeout);
    rc = run_rank_main(rank_main, bootstrap);
  }
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  ::_exit(exit_code_for(rc));
}

struct Child {
  pid_t pid = -1;
  UniqueFd fd;
  std::optional<int> wait_status;
  bool killed_by_launcher = false;
};

class Launcher {
 public:
  Launcher(const LocalLaunchOptions& opts, SignalCatcher& signals, std::vector<Child> children)
      : opts_(opts),
        signals_(signals),
        children_(std::move(children)),
        hub_(opts.np, opts.timeout, [this](int r) { return rank_name(r); }) {
    for (int r = 0; r < opts.np; ++r) hub_.attach(r, children_[r].fd.get());
  }

  LocalLaunchResult run() {
    serve();
    reap_all();
    return result();
  }

 private:
  std::string rank_name(int r) const {
    return "rank " + std::to_string(r) + " (pid " + std::to_string(children_[r].pid) + ")";
  }

  void serve() {
    while (hub_.connected_members() > 0) {
      const std::vector<int> ranks = hub_.watched_ranks();
      std::vector<pollfd> fds;
      for (int r : ranks) fds.push_back({hub_.fd(r), POLLIN, 0});
      fds.push_back({signals_.fd(), POLLIN, 0});
      const int n = ::poll(fds.data(), fds.size(), poll_timeout_ms());
      if (n < 0 && errno != EINTR) {
        // Without poll() the launcher can neither serve nor watch the ranks: end the job.
        hub_.fail(StatusCode::kIoError, std::string("the launcher's poll failed: ") + std::strerror(errno));
        kill_remaining();
        return;
      }
      if (n > 0) handle_ready(ranks, fds);
      hub_.check_deadline();
      enforce_abort_grace();
    }
  }

  void handle_ready(const std::vector<int>& ranks, const std::vector<pollfd>& fds) {
    if (fds.back().revents != 0) forward_signal();
    for (size_t i = 0; i < ranks.size(); ++i) {
      if (fds[i].revents == 0) continue;
      if (!hub_.read_from(ranks[i])) hub_.member_gone(ranks[i], how_it_ended(ranks[i]));
    }
  }

  int poll_timeout_ms() const {
    int timeout = hub_.poll_timeout_ms();
    if (kill_at_) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*kill_at_ - Clock::now()).count();
      const int kill_ms = static_cast<int>(std::clamp<long long>(left, 0, INT_MAX));
      timeout = timeout < 0 ? kill_ms : std::min(timeout, kill_ms);
    }
    return timeout;
  }

  void enforce_abort_grace() {
    if (hub_.failed() && !kill_at_) kill_at_ = Clock::now() + opts_.abort_grace;
    if (kill_at_ && !killed_all_ && Clock::now() >= *kill_at_) kill_remaining();
  }

  void kill_remaining() {
    killed_all_ = true;
    for (Child& c : children_) {
      if (c.wait_status) continue;
      c.killed_by_launcher = true;
      ::kill(c.pid, SIGKILL);
    }
  }

  // A second signal means the user really wants the ranks gone.
  void forward_signal() {
    const int sig = signals_.take();
    if (sig == 0) return;
    const int send = ++signals_seen_ > 1 ? SIGKILL : sig;
    for (const Child& c : children_)
      if (!c.wait_status) ::kill(c.pid, send);
    hub_.fail(StatusCode::kPeerFailed, "the job was stopped: the launcher received " +
                                           signal_name(sig) + " and passed it on to every rank");
  }

  // The rank's connection ended; its exit status says why. Also closes the launcher's end.
  std::string how_it_ended(int r) {
    Child& c = children_[r];
    c.fd.reset();
    const auto give_up = Clock::now() + kExitSettle;
    for (;;) {
      int st = 0;
      const pid_t got = ::waitpid(c.pid, &st, WNOHANG);
      if (got == c.pid) {
        c.wait_status = st;
        return describe_wait_status(st);
      }
      if (got < 0 && errno != EINTR) return "closed its connection to the launcher";
      if (Clock::now() >= give_up) return "closed its connection to the launcher";
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  void reap_all() {
    for (Child& c : children_) {
      c.fd.reset();
      while (!c.wait_status) {
        int st = 0;
        const pid_t got = ::waitpid(c.pid, &st, 0);
        if (got == c.pid) c.wait_status = st;
        else if (got < 0 && errno != EINTR) break;
      }
    }
  }

  LocalLaunchResult result() const {
    LocalLaunchResult out;
    std::string problems = hub_.failed() ? hub_.failure().message() : "";
    for (int r = 0; r < opts_.np; ++r) {
      const Child& c = children_[r];
      RankExit e{r, c.pid, -1, 0, c.killed_by_launcher};
      const int st = c.wait_status.value_or(0);
      if (c.wait_status && WIFEXITED(st)) e.exit_code = WEXITSTATUS(st);
      if (c.wait_status && WIFSIGNALED(st)) e.signal = WTERMSIG(st);
      out.ranks.push_back(e);
      const std::string problem = exit_problem(e, c.wait_status.has_value());
      if (!problem.empty()) problems += (problems.empty() ? "" : "; ") + problem;
    }
    if (!problems.empty()) {
      const StatusCode code = hub_.failed() ? hub_.failure().code() : StatusCode::kPeerFailed;
      out.status = Status::error(code, "local job of " + std::to_string(opts_.np) +
                                           " ranks failed: " + problems, FB_HERE);
    }
    return out;
  }

  std::string exit_problem(const RankExit& e, bool reaped) const {
    const std::string who = rank_name(e.rank);
    if (!reaped) return who + " could not be reaped";
    if (e.killed_by_launcher && e.signal == SIGKILL)
      return who + " was still running " + std::to_string(opts_.abort_grace.count()) +
             " ms after the job failed and was killed";
    if (e.signal != 0) return who + " was killed by " + signal_name(e.signal);
    if (e.exit_code != 0) return who + " exited with code " + std::to_string(e.exit_code);
    return "";
  }

  const LocalLaunchOptions& opts_;
  SignalCatcher& signals_;
  std::vector<Child> children_;
  StarHub hub_;
  std::optional<Clock::time_point> kill_at_;
  bool killed_all_ = false;
  int signals_seen_ = 0;
};

Status check_options(const LocalLaunchOptions& opts, const std::function<int(Bootstrap&)>& rank_main) {
  if (opts.np < 1)
    return Status::error(StatusCode::kInvalidArgument,
                         "the local bootstrap needs at least 1 rank, got " + std::to_string(opts.np),
                         FB_HERE);
  if (opts.timeout.count() <= 0)
    return Status::error(StatusCode::kInvalidArgument,
                         "the bootstrap timeout must be positive, got " +
                             std::to_string(opts.timeout.count()) + " ms",
                         FB_HERE);
  if (!rank_main)
    return Status::error(StatusCode::kInvalidArgument, "launch_local needs a rank function", FB_HERE);
  return ok_status();
}

void kill_and_reap(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) ::kill(pid, SIGKILL);
  for (pid_t pid : pids) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace

std::string describe_wait_status(int st) {
  if (WIFEXITED(st)) return "exited with code " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return "was killed by " + signal_name(WTERMSIG(st));
  return "stopped with wait status " + std::to_string(st);
}

LocalLaunchResult launch_local(const LocalLaunchOptions& opts,
                               const std::function<int(Bootstrap&)>& rank_main) {
  if (Status bad = check_options(opts, rank_main); !bad.ok()) return {{}, bad};
  Expected<Socketpairs> pairs = make_socketpairs(opts.np);
  if (!pairs.ok()) return {{}, pairs.status()};
  SignalCatcher signals;
  if (!signals.status().ok()) return {{}, signals.status()};

  // Whatever the caller buffered would otherwise be printed once per rank as well.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  const pid_t launcher = ::getpid();
  // The launcher's ends stay in `pairs` until every rank is forked, so each child can find
  // and close all of them.
  std::vector<pid_t> pids;
  for (int r = 0; r < opts.np; ++r) {
    const pid_t pid = ::fork();
    if (pid == 0) run_child(r, opts, launcher, *pairs, signals, rank_main);
    if (pid < 0) {
      const int err = errno;
      kill_and_reap(pids);
      return {{}, Status::from_errno(err, "fork", FB_HERE)
                      .with_context("could not start rank " + std::to_string(r) + " of " +
                                    std::to_string(opts.np))};
    }
    pairs->rank_ends[r].reset();
    pids.push_back(pid);
  }
  std::vector<Child> children;
  for (int r = 0; r < opts.np; ++r)
    children.push_back({pids[r], std::move(pairs->launcher_ends[r]), std::nullopt, false});
  return Launcher(opts, signals, std::move(children)).run();
}

}  // namespace fb
