// Micro-benchmark of the CPU reduce loops against memcpy, the bandwidth limit they chase.
// bytes/s counts what the program reads plus what it writes, over wall time, in decimal units:
//   reduce in place  inout = inout op in   3 x size
//   reduce 3-operand out = a op b          3 x size
//   copy then reduce memcpy + in place     5 x size (what the 3-operand form saves)
//   memcpy                                 2 x size
// Run (Google Benchmark flags apply; results also as JSON with --benchmark_format=json or
// --benchmark_out=FILE --benchmark_out_format=json):
//   <build>/bench/micro/reduce_micro --benchmark_filter='fp16'
//   <build>/bench/micro/reduce_micro --benchmark_min_time=0.05   (a quick pass; seconds, plain number in 1.7)
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cpu_reduce.h"
#include "fabricbench/collectives/element_access.h"
#include "fabricbench/transport/memory.h"

namespace fb {
namespace {

constexpr int64_t kMinBytes = int64_t{64} << 10;
constexpr int64_t kMaxBytes = int64_t{64} << 20;

std::unique_ptr<Buffer> host_buffer(size_t bytes) {
  auto buffer = allocate_host(bytes);
  if (!buffer.ok()) return nullptr;
  std::memset(buffer.value()->data(), 0, bytes);  // fault the pages in before timing
  return std::move(buffer).value();
}

void set_bytes_counter(benchmark::State& state, int64_t bytes_per_iteration) {
  state.counters["bytes"] = benchmark::Counter(static_cast<double>(bytes_per_iteration),
                                               benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::OneK::kIs1000);
}

enum class Form { kInPlace, kThreeOperand, kCopyThenInPlace };

void bm_reduce(benchmark::State& state, const CpuReduceLoops* loops, DataType type, ReduceOp op,
               Form form) {
  const auto bytes = static_cast<size_t>(state.range(0));
  const size_t count = bytes / element_size(type);
  auto a = host_buffer(bytes), b = host_buffer(bytes), out = host_buffer(bytes);
  if (!a || !b || !out) return state.SkipWithError("allocation failed");
  // Small values that never grow into NaN or subnormals, which would change the timing.
  fill_values(a->data(), count, type, [](size_t i) { return double(i % 7); });
  fill_values(b->data(), count, type, [](size_t i) { return double(i % 5); });
  const ReduceLoopPair& loop = loops->at(type, op);
  for (auto _ : state) {
    switch (form) {
      case Form::kInPlace: loop.in_place(a->data(), b->data(), count); break;
      case Form::kThreeOperand: loop.out_of_place(out->data(), a->data(), b->data(), count); break;
      case Form::kCopyThenInPlace:
        std::memcpy(out->data(), a->data(), bytes);
        loop.in_place(out->data(), b->data(), count);
        break;
    }
    benchmark::ClobberMemory();
  }
  set_bytes_counter(state, static_cast<int64_t>(bytes) * (form == Form::kCopyThenInPlace ? 5 : 3));
}

void bm_memcpy(benchmark::State& state) {
  const auto bytes = static_cast<size_t>(state.range(0));
  auto src = host_buffer(bytes), dst = host_buffer(bytes);
  if (!src || !dst) return state.SkipWithError("allocation failed");
  for (auto _ : state) {
    std::memcpy(dst->data(), src->data(), bytes);
    benchmark::ClobberMemory();
  }
  set_bytes_counter(state, static_cast<int64_t>(bytes) * 2);
}

std::string_view form_name(Form form) {
  switch (form) {
    case Form::kInPlace: return "inplace";
    case Form::kThreeOperand: return "3op";
    case Form::kCopyThenInPlace: return "copy+inplace";
  }
  return "?";
}

std::string bench_name(const CpuReduceLoops& loops, DataType type, ReduceOp op, Form form) {
  return "reduce/" + std::string(loops.isa) + "/" + std::string(to_string(type)) + "/" +
         std::string(to_string(op)) + "/" + std::string(form_name(form));
}

void register_all() {
  benchmark::RegisterBenchmark("memcpy", bm_memcpy)
      ->UseRealTime()->RangeMultiplier(4)->Range(kMinBytes, kMaxBytes);
  std::vector<const CpuReduceLoops*> variants{&baseline_reduce_loops()};
  if (const CpuReduceLoops* avx2 = avx2_reduce_loops()) variants.push_back(avx2);
  for (const CpuReduceLoops* loops : variants) {
    for (DataType type : kAllDataTypes) {
      for (Form form : {Form::kInPlace, Form::kThreeOperand, Form::kCopyThenInPlace}) {
        const std::string name = bench_name(*loops, type, ReduceOp::kSum, form);
        benchmark::RegisterBenchmark(name.c_str(), bm_reduce, loops, type, ReduceOp::kSum, form)
            ->UseRealTime()->RangeMultiplier(4)->Range(kMinBytes, kMaxBytes);
      }
      // max/min cost more instructions (NaN handling); one in-cache and one DRAM size.
      for (ReduceOp op : {ReduceOp::kMax, ReduceOp::kMin}) {
        const std::string name = bench_name(*loops, type, op, Form::kInPlace);
        benchmark::RegisterBenchmark(name.c_str(), bm_reduce, loops, type, op, Form::kInPlace)
            ->UseRealTime()->Arg(kMinBytes)->Arg(kMaxBytes);
      }
    }
  }
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
