// Ranks are forked children: they report what they saw through their exit code (0 = as
// expected) and print details to stderr, and the test checks the launch result.
#include "bootstrap/local_bootstrap.h"

#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "fabricbench/transport/deadline.h"

namespace fb {
namespace {

using ::testing::HasSubstr;
using std::chrono::milliseconds;

// Exit codes a rank uses to say what went wrong, checked by the parent.
constexpr int kUnexpectedSuccess = 10;
constexpr int kWrongError = 11;
constexpr int kWrongData = 12;

LocalLaunchOptions options(int np, milliseconds timeout = milliseconds(20000)) {
  LocalLaunchOptions o;
  o.np = np;
  o.timeout = timeout;
  o.abort_grace = milliseconds(500);
  return o;
}

// Inside a rank: did the exchange fail with this code and a message containing every needle?
int expect_failure(const Status& s, StatusCode code, std::initializer_list<std::string> needles) {
  if (s.ok()) return kUnexpectedSuccess;
  std::fprintf(stderr, "[rank saw] %s\n", s.message().c_str());
  if (s.code() != code) return kWrongError;
  for (const std::string& n : needles)
    if (s.message().find(n) == std::string::npos) return kWrongError;
  return 0;
}

// Inside a rank: an exchange that should have worked did not.
int failed(const Status& s) {
  std::fprintf(stderr, "[rank saw] %s\n", s.message().c_str());
  return kWrongError;
}

std::vector<int> exit_codes(const LocalLaunchResult& r) {
  std::vector<int> out;
  for (const RankExit& e : r.ranks) out.push_back(e.exit_code);
  return out;
}

std::string pid_of(const LocalLaunchResult& r, int rank) {
  return "rank " + std::to_string(rank) + " (pid " + std::to_string(r.ranks[rank].pid) + ")";
}

Bytes contribution(int rank, int round) {
  Bytes out(static_cast<size_t>(rank * 37 + round % 5));
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::byte>(rank * 11 + round + i);
  return out;
}

class LocalBootstrapAllgather : public ::testing::TestWithParam<int> {};

TEST_P(LocalBootstrapAllgather, VaryingSizesReachEveryRank) {
  const int np = GetParam();
  const LocalLaunchResult r = launch_local(options(np), [np](Bootstrap& b) {
    for (int round = 0; round < 5; ++round) {
      Expected<std::vector<Bytes>> all = b.allgather(contribution(b.rank(), round));
      if (!all.ok()) return failed(all.status());
      if (static_cast<int>(all->size()) != np) return kWrongData;
      for (int peer = 0; peer < np; ++peer)
        if ((*all)[peer] != contribution(peer, round)) return kWrongData;
    }
    return 0;
  });
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(exit_codes(r), std::vector<int>(np, 0));
}

INSTANTIATE_TEST_SUITE_P(Ranks, LocalBootstrapAllgather, ::testing::Values(1, 2, 4));

TEST(LocalBootstrap, IdentityOfEachRank) {
  const LocalLaunchResult r = launch_local(options(3), [](Bootstrap& b) {
    const bool right = b.size() == 3 && b.local_rank() == b.rank() && b.local_size() == 3 &&
                       b.kind() == "local" && b.timeout() == milliseconds(20000);
    Expected<std::vector<int>> ranks = allgather_value(b, b.rank());
    if (!ranks.ok() || *ranks != std::vector<int>{0, 1, 2}) return kWrongData;
    return right ? 0 : kWrongData;
  });
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  ASSERT_EQ(r.ranks.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.ranks[i].rank, i);
    EXPECT_GT(r.ranks[i].pid, 0);
    EXPECT_EQ(r.ranks[i].signal, 0);
  }
}

TEST(LocalBootstrap, ManyRoundsOfAllgatherAndBarrier) {
  const LocalLaunchResult r = launch_local(options(3), [](Bootstrap& b) {
    for (int round = 0; round < 300; ++round) {
      Expected<std::vector<int>> got = allgather_value(b, round * 10 + b.rank());
      if (!got.ok()) return failed(got.status());
      for (int peer = 0; peer < 3; ++peer)
        if ((*got)[peer] != round * 10 + peer) return kWrongData;
      if (!b.barrier().ok()) return kWrongError;
    }
    return 0;
  });
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(exit_codes(r), (std::vector<int>{0, 0, 0}));
}

TEST(LocalBootstrap, KilledRankIsNamedToTheOthers) {
  const auto start = Clock::now();
  const LocalLaunchResult r = launch_local(options(3), [](Bootstrap& b) {
    if (!b.barrier().ok()) return kWrongError;
    if (b.rank() == 1) ::raise(SIGKILL);
    return expect_failure(b.barrier(), StatusCode::kPeerFailed,
                          {"rank 1 (pid ", "was killed by signal 9", "before joining bootstrap exchange 2"});
  });
  EXPECT_LT(Clock::now() - start, milliseconds(10000));  // the timeout is 20 s
  ASSERT_EQ(r.ranks.size(), 3u);
  EXPECT_EQ(r.ranks[0].exit_code, 0);
  EXPECT_EQ(r.ranks[2].exit_code, 0);
  EXPECT_EQ(r.ranks[1].signal, SIGKILL);
  EXPECT_FALSE(r.ranks[1].killed_by_launcher);
  EXPECT_EQ(r.status.code(), StatusCode::kPeerFailed);
  EXPECT_THAT(r.status.message(), HasSubstr(pid_of(r, 1) + " was killed by signal 9 (Killed)"));
}

TEST(LocalBootstrap, RankThatExitsMidwayIsNamed) {
  const LocalLaunchResult r = launch_local(options(4), [](Bootstrap& b) {
    if (!b.barrier().ok()) return kWrongError;
    if (b.rank() == 2) ::_exit(3);
    return expect_failure(b.allgather(contribution(b.rank(), 1)).status(), StatusCode::kPeerFailed,
                          {"rank 2 (pid ", "exited with code 3"});
  });
  EXPECT_EQ(exit_codes(r), (std::vector<int>{0, 0, 3, 0}));
  EXPECT_EQ(r.status.code(), StatusCode::kPeerFailed);
  EXPECT_THAT(r.status.message(), HasSubstr(pid_of(r, 2) + " exited with code 3"));
}

TEST(LocalBootstrap, HungRankTimesOutTheOthers) {
  const milliseconds timeout(1000);
  const auto start = Clock::now();
  // No barrier first: under load a slow start could time that one out. The message names
  // every rank that was late, so it names rank 1 either way.
  const LocalLaunchResult r = launch_local(options(3, timeout), [](Bootstrap& b) {
    if (b.rank() == 1) std::this_thread::sleep_for(std::chrono::seconds(60));
    return expect_failure(b.barrier(), StatusCode::kTimeout,
                          {"timed out after 1000 ms waiting for ", "rank 1 (pid "});
  });
  // Detected by the launcher at the timeout, well before the ranks' own timeout + grace.
  EXPECT_LT(Clock::now() - start, milliseconds(8000));
  ASSERT_EQ(r.ranks.size(), 3u);
  EXPECT_EQ(r.ranks[0].exit_code, 0);
  EXPECT_EQ(r.ranks[2].exit_code, 0);
  EXPECT_TRUE(r.ranks[1].killed_by_launcher);
  EXPECT_EQ(r.status.code(), StatusCode::kTimeout);
  EXPECT_THAT(r.status.message(), HasSubstr("timed out after 1000 ms waiting for "));
  EXPECT_THAT(r.status.message(), HasSubstr(pid_of(r, 1) + " was still running"));
}

TEST(LocalBootstrap, NonZeroExitIsNamed) {
  const LocalLaunchResult r = launch_local(options(3), [](Bootstrap& b) {
    if (!b.barrier().ok()) return kWrongError;
    return b.rank() == 2 ? 5 : 0;
  });
  EXPECT_EQ(exit_codes(r), (std::vector<int>{0, 0, 5}));
  EXPECT_EQ(r.status.code(), StatusCode::kPeerFailed);
  EXPECT_THAT(r.status.message(), HasSubstr(pid_of(r, 2) + " exited with code 5"));
  EXPECT_THAT(r.status.message(), ::testing::Not(HasSubstr("rank 0")));
}

TEST(LocalBootstrap, ExitCodeThatWouldWrapToZeroStillFails) {
  const LocalLaunchResult r = launch_local(options(1), [](Bootstrap&) { return 256; });
  EXPECT_EQ(exit_codes(r), std::vector<int>{1});
  EXPECT_FALSE(r.status.ok());
}

TEST(LocalBootstrap, UncaughtExceptionFailsThatRank) {
  const LocalLaunchResult r = launch_local(options(2), [](Bootstrap& b) -> int {
    if (b.rank() == 1) throw std::runtime_error("boom");
    return 0;
  });
  EXPECT_EQ(exit_codes(r), (std::vector<int>{0, 1}));
}

TEST(LocalBootstrap, ExitAfterTheLastExchangeIsFine) {
  const LocalLaunchResult r = launch_local(options(3), [](Bootstrap& b) {
    if (!b.barrier().ok()) return kWrongError;
    if (b.rank() != 0) std::this_thread::sleep_for(milliseconds(100));
    return 0;
  });
  EXPECT_TRUE(r.status.ok()) << r.status.message();
}

TEST(LocalBootstrap, AfterAFailureEveryExchangeFails) {
  const LocalLaunchResult r = launch_local(options(2), [](Bootstrap& b) {
    if (b.rank() == 1) ::_exit(0);
    if (b.barrier().ok()) return kUnexpectedSuccess;
    return expect_failure(b.barrier(), StatusCode::kPeerFailed, {"rank 1 (pid "});
  });
  EXPECT_EQ(exit_codes(r), (std::vector<int>{0, 0}));
  EXPECT_THAT(r.status.message(), HasSubstr(pid_of(r, 1) + " exited with code 0 before joining"));
}

int open_sockets() {
  int n = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  while (const dirent* e = ::readdir(dir)) {
    struct stat st{};
    if (::fstatat(::dirfd(dir), e->d_name, &st, 0) == 0 && S_ISSOCK(st.st_mode)) ++n;
  }
  ::closedir(dir);
  return n;
}

TEST(LocalBootstrap, RanksHoldOnlyTheirOwnSocket) {
  const int before = open_sockets();
  ASSERT_GE(before, 0);
  const LocalLaunchResult r = launch_local(options(4), [before](Bootstrap& b) {
    if (!b.barrier().ok()) return kWrongError;
    const int mine = open_sockets();
    if (mine != before + 1) std::fprintf(stderr, "rank %d holds %d sockets\n", b.rank(), mine);
    return mine == before + 1 ? 0 : kWrongData;
  });
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(open_sockets(), before);
}

TEST(LocalBootstrap, TerminationIsPassedOnToTheRanks) {
  const LocalLaunchResult r = launch_local(options(3), [](Bootstrap& b) {
    if (!b.barrier().ok()) return kWrongError;
    if (b.rank() == 0) ::kill(::getppid(), SIGTERM);
    std::this_thread::sleep_for(std::chrono::seconds(60));
    return kUnexpectedSuccess;
  });
  ASSERT_EQ(r.ranks.size(), 3u);
  for (const RankExit& e : r.ranks) EXPECT_EQ(e.signal, SIGTERM) << "rank " << e.rank;
  EXPECT_THAT(r.status.message(), HasSubstr("the launcher received signal 15 (Terminated)"));
}

TEST(LocalBootstrap, InvalidOptions) {
  const auto noop = [](Bootstrap&) { return 0; };
  EXPECT_EQ(launch_local(options(0), noop).status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(launch_local(options(2, milliseconds(0)), noop).status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(launch_local(options(2), nullptr).status.code(), StatusCode::kInvalidArgument);
}

TEST(LocalBootstrap, DescribesWaitStatus) {
  EXPECT_EQ(describe_wait_status(3 << 8), "exited with code 3");
  EXPECT_EQ(describe_wait_status(SIGKILL), "was killed by signal 9 (Killed)");
}

}  // namespace
}  // namespace fb
