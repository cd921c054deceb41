// Micro-benchmark of the device reduce kernel against device-to-device cudaMemcpy, the
// bandwidth limit it chases. bytes_per_second counts what the GPU reads plus what it writes, in
// decimal units (1e9 = GB/s), over device time measured with CUDA events:
//   reduce/<type>/<op>/<bytes>      out = a op b, kernel launches only      3 x bytes
//   memcpy_d2d/<bytes>              cudaMemcpyAsync device to device        2 x bytes
//   memcpy_h2d_pinned/<bytes>       pinned host to device (the staged       1 x bytes
//   memcpy_d2h_pinned/<bytes>       path's limit), each way                 1 x bytes
//   reduce_call/fp32/sum/<bytes>    ReduceKernel::reduce as collectives call it (argument
//                                   checks, launch, wait), wall time        3 x bytes
// The reduce kernel's target is >= 0.90 of memcpy_d2d's bytes_per_second at 64 MiB and above.
// The host copies count each byte once: it crosses the host link once.
// Without a visible GPU every benchmark reports the reason as its error.
// Run (Google Benchmark flags apply):
//   <build>/bench/micro/cuda_reduce_micro
//   <build>/bench/micro/cuda_reduce_micro --benchmark_filter='fp32|memcpy' --benchmark_min_time=0.2
//   <build>/bench/micro/cuda_reduce_micro --benchmark_out=cuda.json --benchmark_out_format=json
#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "cuda_handles.h"
#include "cuda_reduce_kernel.h"
#include "cuda_status.h"
#include "fabricbench/collectives/element_access.h"
#include "fabricbench/collectives/reduce.h"
#include "fabricbench/transport/memory.h"

namespace fb {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kSizes[] = {1 * kMiB, 16 * kMiB, 64 * kMiB, 256 * kMiB};
// Each timed region is a batch of launches moving at least this much, so that event resolution
// and the gaps at its edges vanish, and the time per operation is the region's over the batch.
// The number of regions is fixed (Iterations, not --benchmark_min_time): a region of many
// small launches counts as one iteration of one launch's time, which would make the library's
// own stopping rule run 1 MiB cases for minutes.
constexpr int64_t kBytesPerTimedRegion = 1024 * kMiB;
constexpr int64_t kTimedRegions = 30;

// Three buffers of the largest size, allocated and filled once for the whole run; each
// benchmark uses their first `bytes`.
struct Workspace {
  std::unique_ptr<Buffer> a, b, out;
  std::unique_ptr<Buffer> pinned;  // page-locked host memory, as the staged path uses
  cuda::Stream stream;
  cuda::Event start, stop;
  int multiprocessors = 1;
};

Status fill(const Buffer& buffer, int seed) {
  // Small integers: valid in every type, never NaN or subnormal.
  const size_t chunk = std::min<size_t>(buffer.size(), 16 * kMiB);
  std::vector<uint8_t> host(chunk);
  fill_values(host.data(), chunk / 4, DataType::kInt32, [&](size_t i) { return double((i + seed) % 7); });
  for (size_t at = 0; at < buffer.size(); at += chunk) {
    const size_t bytes = std::min(chunk, buffer.size() - at);
    FB_TRY(copy_memory({buffer.bytes() + at, bytes, buffer.kind()}, {host.data(), bytes}, bytes));
  }
  return ok_status();
}

Expected<Workspace*> make_workspace() {
  FB_TRY(cuda::visible_device_count().status());
  auto workspace = std::make_unique<Workspace>();
  const size_t bytes = static_cast<size_t>(kSizes[std::size(kSizes) - 1]);
  FB_TRY_ASSIGN(workspace->a, allocate(MemoryKind::kCudaDevice, bytes));
  FB_TRY_ASSIGN(workspace->b, allocate(MemoryKind::kCudaDevice, bytes));
  FB_TRY_ASSIGN(workspace->out, allocate(MemoryKind::kCudaDevice, bytes));
  FB_TRY_ASSIGN(workspace->pinned, allocate(MemoryKind::kCudaPinned, bytes));
  FB_TRY(fill(*workspace->a, 0));
  FB_TRY(fill(*workspace->b, 3));
  FB_TRY_ASSIGN(workspace->stream, cuda::Stream::create());
  FB_TRY_ASSIGN(workspace->start, cuda::Event::create(cuda::Event::Timing::kEnabled));
  FB_TRY_ASSIGN(workspace->stop, cuda::Event::create(cuda::Event::Timing::kEnabled));
  FB_CUDA_TRY(cudaDeviceGetAttribute(&workspace->multiprocessors, cudaDevAttrMultiProcessorCount, 0));
  return workspace.release();  // lives for the process
}

// The workspace, or why there is none (no GPU: the same reason for every benchmark).
const Expected<Workspace*>& workspace() {
  static const Expected<Workspace*> made = make_workspace();
  return made;
}

void set_bytes_counter(benchmark::State& state, int64_t bytes_per_iteration) {
  state.counters["bytes_per_second"] = benchmark::Counter(static_cast<double>(bytes_per_iteration),
                                                          benchmark::Counter::kIsIterationInvariantRate,
                                                          benchmark::Counter::OneK::kIs1000);
}

// Times `launch` (which enqueues one operation on the stream) with events around a batch of
// launches and reports the time per operation; any CUDA error ends the benchmark with it.
template <typename Launch>
void time_on_device(benchmark::State& state, Workspace& w, int64_t bytes, Launch&& launch) {
  const int64_t batch = std::max<int64_t>(1, kBytesPerTimedRegion / bytes);
  auto fail = [&](cudaError_t error, const char* what) {
    state.SkipWithError((std::string(what) + ": " + cudaGetErrorString(error)).c_str());
  };
  if (cudaError_t error = launch(); error != cudaSuccess) return fail(error, "warm-up launch");
  for (auto _ : state) {
    cudaEventRecord(w.start.get(), w.stream.get());
    for (int64_t i = 0; i < batch; ++i)
      if (cudaError_t error = launch(); error != cudaSuccess) return fail(error, "launch");
    cudaEventRecord(w.stop.get(), w.stream.get());
    if (cudaError_t error = cudaEventSynchronize(w.stop.get()); error != cudaSuccess)
      return fail(error, "cudaEventSynchronize");
    float ms = 0;
    cudaEventElapsedTime(&ms, w.start.get(), w.stop.get());
    state.SetIterationTime(ms / 1e3 / static_cast<double>(batch));
  }
}

void bm_reduce(benchmark::State& state, DataType type, ReduceOp op) {
  const auto& w = workspace();
  if (!w.ok()) return state.SkipWithError(w.status().to_string().c_str());
  const int64_t bytes = state.range(0);
  const size_t count = static_cast<size_t>(bytes) / element_size(type);
  Workspace& ws = *w.value();
  time_on_device(state, ws, bytes, [&] {
    return cuda::enqueue_reduce(ws.out->data(), ws.a->data(), ws.b->data(), count, type, op,
                                ws.multiprocessors, ws.stream.get());
  });
  set_bytes_counter(state, 3 * bytes);
}

void bm_memcpy(benchmark::State& state) {
  const auto& w = workspace();
  if (!w.ok()) return state.SkipWithError(w.status().to_string().c_str());
  const int64_t bytes = state.range(0);
  Workspace& ws = *w.value();
  time_on_device(state, ws, bytes, [&] {
    return cudaMemcpyAsync(ws.out->data(), ws.a->data(), static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice,
                           ws.stream.get());
  });
  set_bytes_counter(state, 2 * bytes);
}

void bm_memcpy_pinned(benchmark::State& state, cudaMemcpyKind direction) {
  const auto& w = workspace();
  if (!w.ok()) return state.SkipWithError(w.status().to_string().c_str());
  const int64_t bytes = state.range(0);
  Workspace& ws = *w.value();
  const bool to_device = direction == cudaMemcpyHostToDevice;
  void* to = to_device ? ws.out->data() : ws.pinned->data();
  const void* from = to_device ? ws.pinned->data() : ws.a->data();
  time_on_device(state, ws, bytes, [&] {
    return cudaMemcpyAsync(to, from, static_cast<size_t>(bytes), direction, ws.stream.get());
  });
  set_bytes_counter(state, bytes);
}

void bm_reduce_call(benchmark::State& state) {
  const auto& w = workspace();
  if (!w.ok()) return state.SkipWithError(w.status().to_string().c_str());
  auto kernel = reduce_kernel_for(MemoryKind::kCudaDevice);
  if (!kernel.ok()) return state.SkipWithError(kernel.status().to_string().c_str());
  const int64_t bytes = state.range(0);
  const size_t count = static_cast<size_t>(bytes) / sizeof(float);
  Workspace& ws = *w.value();
  for (auto _ : state) {
    const Status status = kernel.value()->reduce(ws.out->data(), ws.a->data(), ws.b->data(), count,
                                                 DataType::kFloat32, ReduceOp::kSum);
    if (!status.ok()) return state.SkipWithError(status.to_string().c_str());
  }
  set_bytes_counter(state, 3 * bytes);
}

// The card, its bus address and the CUDA versions go into the results' context, so a result
// file names what it was measured on; without a device, why there is none.
void describe_device() {
  int devices = 0;
  if (const cudaError_t error = cudaGetDeviceCount(&devices); error != cudaSuccess || devices == 0) {
    benchmark::AddCustomContext("gpu", error != cudaSuccess ? cudaGetErrorString(error) : "no CUDA device visible");
    return;
  }
  cudaDeviceProp properties{};
  char bus_id[32] = {};
  int driver = 0, runtime = 0;
  if (cudaGetDeviceProperties(&properties, 0) != cudaSuccess ||
      cudaDeviceGetPCIBusId(bus_id, sizeof bus_id, 0) != cudaSuccess || cudaDriverGetVersion(&driver) != cudaSuccess ||
      cudaRuntimeGetVersion(&runtime) != cudaSuccess)
    return benchmark::AddCustomContext("gpu", "device 0 could not be described");
  auto version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
  benchmark::AddCustomContext("gpu", properties.name);
  benchmark::AddCustomContext("gpu_pci_bus_id", bus_id);
  benchmark::AddCustomContext("gpu_memory_bytes", std::to_string(properties.totalGlobalMem));
  benchmark::AddCustomContext("cuda_driver", version(driver));
  benchmark::AddCustomContext("cuda_runtime", version(runtime));
}

void register_all() {
  auto sizes = [](benchmark::internal::Benchmark* b) {
    for (int64_t bytes : kSizes) b->Arg(bytes);
  };
  benchmark::RegisterBenchmark("memcpy_d2d", bm_memcpy)->Apply(sizes)->Iterations(kTimedRegions)->UseManualTime()->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("memcpy_h2d_pinned", bm_memcpy_pinned, cudaMemcpyHostToDevice)
      ->Apply(sizes)->Iterations(kTimedRegions)->UseManualTime()->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("memcpy_d2h_pinned", bm_memcpy_pinned, cudaMemcpyDeviceToHost)
      ->Apply(sizes)->Iterations(kTimedRegions)->UseManualTime()->Unit(benchmark::kMicrosecond);
  for (DataType type : kAllDataTypes) {
    const std::string name = "reduce/" + std::string(to_string(type)) + "/sum";
    benchmark::RegisterBenchmark(name.c_str(), bm_reduce, type, ReduceOp::kSum)
        ->Apply(sizes)->Iterations(kTimedRegions)->UseManualTime()->Unit(benchmark::kMicrosecond);
  }
  // max costs a compare and a NaN test per element: fp32 shows whether that stays hidden.
  benchmark::RegisterBenchmark("reduce/fp32/max", bm_reduce, DataType::kFloat32, ReduceOp::kMax)
      ->Apply(sizes)->Iterations(kTimedRegions)->UseManualTime()->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("reduce_call/fp32/sum", bm_reduce_call)
      ->Arg(1 * kMiB)->Arg(64 * kMiB)->UseRealTime()->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace fb

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  fb::describe_device();
  fb::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
