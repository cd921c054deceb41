// Device reduce loops: one grid-stride kernel per (type, op), with the semantics of
// fabricbench/collectives/reduce.h (and the same formulas as collectives/reduce/element_ops.h,
// so device and CPU results agree bit for bit on everything but NaN payloads).
//
// The loop is bound by memory bandwidth, so everything serves the loads: 16-byte vectors, two
// per thread per iteration so each thread has four loads in flight before its first store, and
// a grid that fills every multiprocessor (kBlocksPerMultiprocessor x kThreads = 2048 resident
// threads on sm_80/sm_90) and strides over the rest. Elements before the first 16-byte boundary
// and after the last are done one at a time; when the three pointers sit at different offsets
// from a 16-byte boundary no vector lines up for all of them, and every element is.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "cuda_reduce_kernel.h"

namespace fb::cuda {
namespace {

constexpr int kThreads = 512;
constexpr int kBlocksPerMultiprocessor = 4;
constexpr int kVectorsPerThread = 2;
constexpr size_t kVectorBytes = 16;

// How an element is stored and what it is computed in: fp16 and bf16 in float, rounded once.
template <DataType T> struct Element;
template <> struct Element<DataType::kFloat32> {
  using Storage = float;
  __device__ static float load(float v) { return v; }
  __device__ static float store(float v) { return v; }
};
template <> struct Element<DataType::kFloat64> {
  using Storage = double;
  __device__ static double load(double v) { return v; }
  __device__ static double store(double v) { return v; }
};
template <> struct Element<DataType::kFloat16> {
  using Storage = __half;
  __device__ static float load(__half v) { return __half2float(v); }
  __device__ static __half store(float v) { return __float2half_rn(v); }
};
template <> struct Element<DataType::kBFloat16> {
  using Storage = __nv_bfloat16;
  __device__ static float load(__nv_bfloat16 v) { return __bfloat162float(v); }
  __device__ static __nv_bfloat16 store(float v) { return __float2bfloat16_rn(v); }
};
template <> struct Element<DataType::kInt32> {
  using Storage = int32_t;
  __device__ static int32_t load(int32_t v) { return v; }
  __device__ static int32_t store(int32_t v) { return v; }
};

// fmaxf/fminf would drop a NaN operand; these keep it, as the CPU kernel does.
template <ReduceOp Op, typename V>
__device__ __forceinline__ V combine(V a, V b) {
  if constexpr (Op == ReduceOp::kSum) {
    if constexpr (std::is_integral_v<V>)  // two's complement wrap, without signed overflow
      return static_cast<V>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
    else
      return a + b;
  } else if constexpr (Op == ReduceOp::kMax) {
    return (a > b || a != a) ? a : b;
  } else {
    return (a < b || a != a) ? a : b;
  }
}

template <DataType T, ReduceOp Op>
__device__ __forceinline__ typename Element<T>::Storage combine_element(typename Element<T>::Storage a,
                                                                        typename Element<T>::Storage b) {
  using E = Element<T>;
  return E::store(combine<Op>(E::load(a), E::load(b)));
}

// Sixteen bytes of elements; moved as one uint4 so each access is a single 128-bit load/store.
template <typename S>
union Vector {
  static constexpr size_t kCount = kVectorBytes / sizeof(S);
  uint4 raw;
  S element[kCount];
};

template <DataType T, ReduceOp Op>
__device__ __forceinline__ uint4 combine_vector(uint4 a, uint4 b) {
  using V = Vector<typename Element<T>::Storage>;
  V x, y, r;
  x.raw = a;
  y.raw = b;
#pragma unroll
  for (size_t k = 0; k < V::kCount; ++k) r.element[k] = combine_element<T, Op>(x.element[k], y.element[k]);
  return r.raw;
}

// Elements [0, head) and [head + vectors * kCount, count) one at a time, the vectors between.
// out may be a or b: each element is read before it is written, by the same thread.
template <DataType T, ReduceOp Op>
__global__ void __launch_bounds__(kThreads)
    reduce_loop(typename Element<T>::Storage* out, const typename Element<T>::Storage* a,
                const typename Element<T>::Storage* b, size_t head, size_t vectors, size_t count) {
  using S = typename Element<T>::Storage;
  constexpr size_t kCount = Vector<S>::kCount;
  uint4* out_v = reinterpret_cast<uint4*>(out + head);
  const uint4* a_v = reinterpret_cast<const uint4*>(a + head);
  const uint4* b_v = reinterpret_cast<const uint4*>(b + head);

  const size_t stride = size_t{gridDim.x} * kThreads * kVectorsPerThread;
  for (size_t v = size_t{blockIdx.x} * kThreads * kVectorsPerThread + threadIdx.x; v < vectors;
       v += stride) {
    const size_t w = v + kThreads;
    const bool second = w < vectors;
    const uint4 x0 = a_v[v], y0 = b_v[v];
    uint4 x1{}, y1{};
    if (second) x1 = a_v[w], y1 = b_v[w];
    out_v[v] = combine_vector<T, Op>(x0, y0);
    if (second) out_v[w] = combine_vector<T, Op>(x1, y1);
  }

  const size_t body_end = head + vectors * kCount;
  const size_t scalars = head + (count - body_end);
  for (size_t j = size_t{blockIdx.x} * kThreads + threadIdx.x; j < scalars; j += size_t{gridDim.x} * kThreads) {
    const size_t i = j < head ? j : body_end + (j - head);
    out[i] = combine_element<T, Op>(a[i], b[i]);
  }
}

template <DataType T, ReduceOp Op>
cudaError_t enqueue(void* out, const void* a, const void* b, size_t count, int multiprocessors,
                    cudaStream_t stream) {
  using S = typename Element<T>::Storage;
  constexpr size_t kCount = Vector<S>::kCount;
  const auto o = reinterpret_cast<uintptr_t>(out);
  const size_t offset = o % kVectorBytes;
  const bool lined_up = reinterpret_cast<uintptr_t>(a) % kVectorBytes == offset &&
                        reinterpret_cast<uintptr_t>(b) % kVectorBytes == offset;
  const size_t head = lined_up ? std::min(count, (kVectorBytes - offset) % kVectorBytes / sizeof(S)) : count;
  const size_t vectors = (count - head) / kCount;
  const size_t scalars = count - vectors * kCount;

  const size_t per_block = size_t{kThreads} * kVectorsPerThread;
  const size_t wanted = std::max((vectors + per_block - 1) / per_block, (scalars + kThreads - 1) / kThreads);
  const size_t limit = size_t(std::max(multiprocessors, 1)) * kBlocksPerMultiprocessor;
  const auto blocks = static_cast<unsigned>(std::clamp<size_t>(wanted, 1, limit));
  // The runtime keeps the last failure of any call (a refused cudaMalloc, say) until someone
  // reads it; read it now so the check below reports this launch only.
  (void)cudaGetLastError();
  reduce_loop<T, Op><<<blocks, kThreads, 0, stream>>>(static_cast<S*>(out), static_cast<const S*>(a),
                                                      static_cast<const S*>(b), head, vectors, count);
  return cudaGetLastError();
}

template <DataType T>
cudaError_t enqueue_op(void* out, const void* a, const void* b, size_t count, ReduceOp op,
                       int multiprocessors, cudaStream_t stream) {
  switch (op) {
    case ReduceOp::kSum: return enqueue<T, ReduceOp::kSum>(out, a, b, count, multiprocessors, stream);
    case ReduceOp::kMax: return enqueue<T, ReduceOp::kMax>(out, a, b, count, multiprocessors, stream);
    case ReduceOp::kMin: return enqueue<T, ReduceOp::kMin>(out, a, b, count, multiprocessors, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace

cudaError_t enqueue_reduce(void* out, const void* a, const void* b, size_t count, DataType type,
                           ReduceOp op, int multiprocessors, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  switch (type) {
    case DataType::kFloat32:
      return enqueue_op<DataType::kFloat32>(out, a, b, count, op, multiprocessors, stream);
    case DataType::kFloat64:
      return enqueue_op<DataType::kFloat64>(out, a, b, count, op, multiprocessors, stream);
    case DataType::kFloat16:
      return enqueue_op<DataType::kFloat16>(out, a, b, count, op, multiprocessors, stream);
    case DataType::kBFloat16:
      return enqueue_op<DataType::kBFloat16>(out, a, b, count, op, multiprocessors, stream);
    case DataType::kInt32:
      return enqueue_op<DataType::kInt32>(out, a, b, count, op, multiprocessors, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace fb::cuda
