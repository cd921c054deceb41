// Micro-benchmark of memory registration through the transport contract: what
// Context::register_memory and releasing its region cost per buffer size, the price of a
// registration-cache miss. For ucx that is ucp_mem_map + ucp_rkey_pack, then ucp_mem_unmap; for
// verbs ibv_reg_mr, then ibv_dereg_mr. Each context is opened once, with the thread bootstrap at
// one rank, and closed at exit. Buffers are page-aligned host memory, written before timing so
// page faults are not counted. Which devices take part depends on the host: with RDMA devices
// the cost is pinning and NIC translation tables and grows with size; with only tcp and shared
// memory (no device that registers) it is UCX's own bookkeeping and is flat.
//   time         one register + release, wall time
//   map_us       the register_memory part (for ucx: ucp_mem_map and ucp_rkey_pack)
//   unmap_us     the release part
//   bytes        registered bytes per second of time (1e9 = GB/s)
// A transport not built in, or not usable here, reports the reason as its error.
// Run (Google Benchmark flags apply):
//   <build>/bench/micro/registration_micro
//   <build>/bench/micro/registration_micro --benchmark_filter=ucx --benchmark_out=reg.json --benchmark_out_format=json
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "bootstrap/thread_bootstrap.h"
#include "fabricbench/transport/registry.h"

namespace fb {
namespace {

constexpr int64_t kMinBytes = int64_t{4} << 10;
constexpr int64_t kMaxBytes = int64_t{256} << 20;
constexpr const char* kTransports[] = {"ucx", "verbs"};

// One rank's opened transport, kept for the whole run: opening UCX costs milliseconds and is
// not what is measured.
struct OpenedContext {
  std::unique_ptr<ThreadBootstrap> bootstrap;
  std::unique_ptr<Context> context;
  Status status;  // why there is no context
};

std::map<std::string, OpenedContext>& contexts() {
  static std::map<std::string, OpenedContext> opened;
  return opened;
}

OpenedContext& context_for(const std::string& transport) {
  auto [it, added] = contexts().try_emplace(transport);
  if (!added) return it->second;
  OpenedContext& slot = it->second;
  slot.bootstrap = std::make_unique<ThreadBootstrap>(std::make_shared<ThreadGroup>(1), 0);
  TransportOptions options;
  options.one_sided = true;  // registration is for one-sided operations: ask for all of it
  auto context = open_transport(transport, *slot.bootstrap, options);
  if (context.ok())
    slot.context = std::move(context).value();
  else
    slot.status = context.status();
  return slot;
}

void close_contexts() {
  for (auto& [name, slot] : contexts())
    if (slot.context)
      if (Status closed = slot.context->close(); !closed.ok())
        std::fprintf(stderr, "closing %s: %s\n", name.c_str(), closed.to_string().c_str());
  contexts().clear();
}

void bm_register(benchmark::State& state, const std::string& transport) {
  OpenedContext& opened = context_for(transport);
  if (!opened.context) return state.SkipWithError(opened.status.to_string().c_str());
  const auto bytes = static_cast<size_t>(state.range(0));
  auto buffer = allocate_host(bytes);
  if (!buffer.ok()) return state.SkipWithError(buffer.status().to_string().c_str());
  std::memset(buffer.value()->data(), 1, bytes);
  const MemorySpan span = buffer.value()->span();

  using Clock = std::chrono::steady_clock;
  Clock::duration mapping{}, unmapping{};
  for (auto _ : state) {
    const auto start = Clock::now();
    auto region = opened.context->register_memory(span);
    const auto mapped = Clock::now();
    if (!region.ok()) return state.SkipWithError(region.status().to_string().c_str());
    region.value().reset();
    const auto released = Clock::now();
    mapping += mapped - start;
    unmapping += released - mapped;
  }
  using Micros = std::chrono::duration<double, std::micro>;
  state.counters["map_us"] = benchmark::Counter(Micros(mapping).count(), benchmark::Counter::kAvgIterations);
  state.counters["unmap_us"] = benchmark::Counter(Micros(unmapping).count(), benchmark::Counter::kAvgIterations);
  state.counters["bytes"] = benchmark::Counter(
      static_cast<double>(bytes), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::OneK::kIs1000);
}

void register_all() {
  for (const char* transport : kTransports) {
    if (!TransportRegistry::instance().find(transport)) continue;  // not built in
    const std::string name = std::string("register/") + transport;
    benchmark::RegisterBenchmark(name.c_str(), bm_register, std::string(transport))
        ->UseRealTime()->RangeMultiplier(4)->Range(kMinBytes, kMaxBytes);
  }
}

}  // namespace
}  // namespace fb

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  fb::register_all();
  benchmark::RunSpecifiedBenchmarks();
  fb::close_contexts();
  benchmark::Shutdown();
  return 0;
}
