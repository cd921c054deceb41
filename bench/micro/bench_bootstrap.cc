// Micro-benchmark of the bootstraps' allgather, the out-of-band exchange every rank waits on
// before and between measurements (addresses, remote keys, per-case results), by rank count:
//   allgather/thread/<bytes>/threads:<n>   n ranks as threads of this process (ThreadBootstrap),
//                                          every rank a benchmark thread; time is wall time per
//                                          allgather, the same on every rank
//   allgather/local/<n>/<bytes>            n forked ranks and their launcher (the local
//                                          bootstrap, fabricbench's default); time is rank 0's
//                                          per allgather over kLocalRounds rounds after a barrier,
//                                          one launch per iteration (forking is not timed;
//                                          the CPU column is the launcher's for a whole launch)
// Counters, per rank: allgathers per second, and bytes gathered per second (n x contribution).
// On a host with fewer cores than ranks the numbers are dominated by scheduling: that is the
// regime --progress auto exists for.
// Run (Google Benchmark flags apply):
//   <build>/bench/micro/bootstrap_micro
//   <build>/bench/micro/bootstrap_micro --benchmark_filter=local --benchmark_out=boot.json --benchmark_out_format=json
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bootstrap/local_bootstrap.h"
#include "bootstrap/thread_bootstrap.h"

namespace fb {
namespace {

constexpr int kRankCounts[] = {2, 4, 8};
constexpr int64_t kContributions[] = {8, 4096};  // one value; a UCX worker address or rkey
constexpr int kLocalRounds = 2000;
constexpr int kLocalLaunches = 5;

// Per rank: with ranks as benchmark threads the library would otherwise add up every thread's.
void set_counters(benchmark::State& state, int ranks, int64_t contribution) {
  const auto per_rank_rate = static_cast<benchmark::Counter::Flags>(benchmark::Counter::kIsIterationInvariantRate |
                                                                    benchmark::Counter::kAvgThreads);
  state.counters["allgathers"] = benchmark::Counter(1, per_rank_rate);
  state.counters["bytes"] = benchmark::Counter(static_cast<double>(ranks * contribution), per_rank_rate,
                                               benchmark::Counter::OneK::kIs1000);
}

// The ranks of one thread job, one per benchmark thread. They live for the whole program: a
// ThreadBootstrap leaves its group when destroyed, and every run of a benchmark does the same
// number of allgathers on every thread, so the group's rounds stay in step from run to run.
struct ThreadJob {
  std::vector<std::unique_ptr<ThreadBootstrap>> ranks;
};

ThreadBootstrap& thread_rank(int size, int rank) {
  static std::mutex mutex;
  static std::map<int, ThreadJob> jobs;
  std::lock_guard lock(mutex);
  ThreadJob& job = jobs[size];
  if (job.ranks.empty()) {
    auto group = std::make_shared<ThreadGroup>(size);
    for (int r = 0; r < size; ++r) job.ranks.push_back(std::make_unique<ThreadBootstrap>(group, r));
  }
  return *job.ranks[rank];
}

void bm_thread_allgather(benchmark::State& state) {
  const int64_t contribution = state.range(0);
  ThreadBootstrap& bootstrap = thread_rank(state.threads(), state.thread_index());
  const Bytes mine(static_cast<size_t>(contribution), std::byte{1});
  for (auto _ : state) {
    auto all = bootstrap.allgather(mine);
    if (!all.ok()) return state.SkipWithError(all.status().to_string().c_str());
    benchmark::DoNotOptimize(all.value().data());
  }
  set_counters(state, state.threads(), contribution);
}

// Rank 0's time for kLocalRounds allgathers, written by the forked rank into memory shared
// with the benchmark process.
void bm_local_allgather(benchmark::State& state) {
  const int ranks = static_cast<int>(state.range(0));
  const int64_t contribution = state.range(1);
  void* shared = ::mmap(nullptr, sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return state.SkipWithError("mmap of the shared result failed");
  auto* seconds = static_cast<double*>(shared);
  for (auto _ : state) {
    *seconds = -1;
    const LocalLaunchResult launched =
        launch_local(LocalLaunchOptions{.np = ranks, .timeout = std::chrono::seconds(60)}, [&](Bootstrap& b) {
          const Bytes mine(static_cast<size_t>(contribution), std::byte{1});
          if (!b.barrier().ok()) return 1;
          const auto start = std::chrono::steady_clock::now();
          for (int i = 0; i < kLocalRounds; ++i)
            if (!b.allgather(mine).ok()) return 1;
          if (b.rank() == 0)
            *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          return 0;
        });
    if (!launched.status.ok() || *seconds < 0) {
      ::munmap(shared, sizeof(double));
      return state.SkipWithError(launched.status.ok() ? "rank 0 reported no time"
                                                      : launched.status.to_string().c_str());
    }
    state.SetIterationTime(*seconds / kLocalRounds);
  }
  ::munmap(shared, sizeof(double));
  set_counters(state, ranks, contribution);
}

void register_all() {
  for (int64_t bytes : kContributions)
    for (int ranks : kRankCounts)
      benchmark::RegisterBenchmark("allgather/thread", bm_thread_allgather)
          ->Arg(bytes)->Threads(ranks)->UseRealTime();
  for (int ranks : kRankCounts)
    for (int64_t bytes : kContributions)
      benchmark::RegisterBenchmark("allgather/local", bm_local_allgather)
          ->Args({ranks, bytes})->UseManualTime()->Iterations(kLocalLaunches);
}

}  // namespace
}  // namespace fb

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  fb::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
