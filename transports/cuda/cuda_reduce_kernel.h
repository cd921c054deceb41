// The reduce kernel for CUDA device memory (MemoryKind::kCudaDevice), registered at load time
// from fabricbench_cuda: reduce_kernel_for(MemoryKind::kCudaDevice) returns it.
//
// Where it runs: on the device that holds `out` (looked up per call, so a thread may work on
// several GPUs), on a non-blocking stream of the calling thread for that device, created on
// first use. Each call waits for its own stream only, so threads reduce concurrently without a
// lock and never wait for each other's work. The inputs must be readable from that device
// (the same device, or a peer with access enabled).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>

#include "fabricbench/collectives/datatype.h"
#include "fabricbench/collectives/reduce.h"

namespace fb::cuda {

// A new kernel object; the registered one is what collectives use. Creating it touches no
// CUDA state.
std::unique_ptr<ReduceKernel> make_cuda_reduce_kernel();

// Enqueues out[i] = op(a[i], b[i]) for i < count on `stream`, without waiting; the calling
// thread's current device must be the one the stream belongs to. Arguments are those
// ReduceKernel checks (count > 0, element-aligned pointers, out equal to or disjoint from each
// input). `multiprocessors` sizes the grid (cudaDevAttrMultiProcessorCount). Returns the launch
// error, if any. For the micro-benchmark, which times launches with its own events.
cudaError_t enqueue_reduce(void* out, const void* a, const void* b, size_t count, DataType type,
                           ReduceOp op, int multiprocessors, cudaStream_t stream);

}  // namespace fb::cuda
