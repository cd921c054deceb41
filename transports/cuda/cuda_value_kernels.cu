// One grid-stride loop per type for filling and one for counting. These run outside timed code,
// so they favour plain code over speed: each element's value costs a few 64-bit divisions,
// which is still far quicker than filling on the host and copying over PCIe.
#include "cuda_value_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace fb::cuda {
namespace {

constexpr int kThreads = 256;  // a multiple of the warp size: the count's warp sum needs whole warps
constexpr int kBlocksPerMultiprocessor = 8;
constexpr unsigned kFullWarp = 0xffffffffu;

// How an element is stored, and the conversions element_access.h's store and load make.
template <DataType T> struct Stored;
template <> struct Stored<DataType::kFloat32> {
  using Type = float;
  __device__ static float store(double v) { return static_cast<float>(v); }
  __device__ static double load(float v) { return v; }
};
template <> struct Stored<DataType::kFloat64> {
  using Type = double;
  __device__ static double store(double v) { return v; }
  __device__ static double load(double v) { return v; }
};
template <> struct Stored<DataType::kFloat16> {
  using Type = __half;
  __device__ static __half store(double v) { return __float2half_rn(static_cast<float>(v)); }
  __device__ static double load(__half v) { return __half2float(v); }
};
template <> struct Stored<DataType::kBFloat16> {
  using Type = __nv_bfloat16;
  __device__ static __nv_bfloat16 store(double v) { return __float2bfloat16_rn(static_cast<float>(v)); }
  __device__ static double load(__nv_bfloat16 v) { return __bfloat162float(v); }
};
template <> struct Stored<DataType::kInt32> {
  using Type = int32_t;
  __device__ static int32_t store(double v) {
    return !(v >= INT32_MIN) ? INT32_MIN : v > INT32_MAX ? INT32_MAX : static_cast<int32_t>(v);
  }
  __device__ static double load(int32_t v) { return v; }
};

template <DataType T>
__global__ void __launch_bounds__(kThreads)
    fill_loop(typename Stored<T>::Type* data, size_t count, ValueScheme scheme) {
  const size_t stride = size_t{gridDim.x} * kThreads;
  for (size_t i = size_t{blockIdx.x} * kThreads + threadIdx.x; i < count; i += stride)
    data[i] = Stored<T>::store(scheme.value(i));
}

// Each thread counts its elements, each warp adds its threads' counts, and one atomic per warp
// that found anything adds that to the total.
template <DataType T>
__global__ void __launch_bounds__(kThreads)
    count_loop(const typename Stored<T>::Type* data, size_t count, ValueScheme scheme, unsigned long long* wrong) {
  const size_t stride = size_t{gridDim.x} * kThreads;
  unsigned long long mine = 0;
  for (size_t i = size_t{blockIdx.x} * kThreads + threadIdx.x; i < count; i += stride)
    mine += Stored<T>::load(data[i]) != scheme.value(i);
  for (int offset = 16; offset > 0; offset /= 2) mine += __shfl_down_sync(kFullWarp, mine, offset);
  if (threadIdx.x % 32 == 0 && mine != 0) atomicAdd(wrong, mine);
}

unsigned blocks_for(size_t count, int multiprocessors) {
  const size_t wanted = (count + kThreads - 1) / kThreads;
  const size_t limit = size_t(std::max(multiprocessors, 1)) * kBlocksPerMultiprocessor;
  return static_cast<unsigned>(std::clamp<size_t>(wanted, 1, limit));
}

template <typename Launch>
cudaError_t launch_for(DataType type, Launch&& launch) {
  // The runtime keeps the last failure of any call until someone reads it; read it now so the
  // check after the launch reports this launch only.
  (void)cudaGetLastError();
  switch (type) {
    case DataType::kFloat32: launch.template operator()<DataType::kFloat32>(); break;
    case DataType::kFloat64: launch.template operator()<DataType::kFloat64>(); break;
    case DataType::kFloat16: launch.template operator()<DataType::kFloat16>(); break;
    case DataType::kBFloat16: launch.template operator()<DataType::kBFloat16>(); break;
    case DataType::kInt32: launch.template operator()<DataType::kInt32>(); break;
    default: return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t enqueue_fill(void* data, size_t count, DataType type, const ValueScheme& scheme, int multiprocessors,
                         cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  const unsigned blocks = blocks_for(count, multiprocessors);
  return launch_for(type, [&]<DataType T>() {
    fill_loop<T><<<blocks, kThreads, 0, stream>>>(static_cast<typename Stored<T>::Type*>(data), count, scheme);
  });
}

cudaError_t enqueue_count_wrong(const void* data, size_t count, DataType type, const ValueScheme& scheme,
                                unsigned long long* wrong, int multiprocessors, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  const unsigned blocks = blocks_for(count, multiprocessors);
  return launch_for(type, [&]<DataType T>() {
    count_loop<T><<<blocks, kThreads, 0, stream>>>(static_cast<const typename Stored<T>::Type*>(data), count,
                                                   scheme, wrong);
  });
}

}  // namespace fb::cuda
