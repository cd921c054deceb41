// The CPU reduce kernel and its instruction-set variants. Internal: the registry picks the
// best variant for this CPU; tests and the micro-benchmark run each one.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string_view>

#include "fabricbench/collectives/datatype.h"
#include "fabricbench/collectives/reduce.h"

namespace fb {

using ReduceLoop = void (*)(void* out, const void* a, const void* b, size_t count);
using ReduceInPlaceLoop = void (*)(void* inout, const void* in, size_t count);

struct ReduceLoopPair {
  ReduceLoop out_of_place = nullptr;
  ReduceInPlaceLoop in_place = nullptr;
};

// One instruction-set variant: a loop per (type, op), indexed by the enums' values.
struct CpuReduceLoops {
  std::string_view isa;  // "baseline", "avx2"; the kernel is named "cpu-<isa>"
  std::array<std::array<ReduceLoopPair, kAllReduceOps.size()>, kAllDataTypes.size()> loops;

  const ReduceLoopPair& at(DataType type, ReduceOp op) const {
    return loops[static_cast<size_t>(type)][static_cast<size_t>(op)];
  }
};

// Builds the table from L<type, op>::out_of_place / ::in_place, each variant's own functions.
template <template <DataType, ReduceOp> class L, DataType T>
constexpr std::array<ReduceLoopPair, kAllReduceOps.size()> reduce_loop_row() {
  static_assert(kAllReduceOps[0] == ReduceOp::kSum && kAllReduceOps[1] == ReduceOp::kMax &&
                kAllReduceOps[2] == ReduceOp::kMin && static_cast<size_t>(ReduceOp::kMin) == 2);
  return {{{&L<T, ReduceOp::kSum>::out_of_place, &L<T, ReduceOp::kSum>::in_place},
           {&L<T, ReduceOp::kMax>::out_of_place, &L<T, ReduceOp::kMax>::in_place},
           {&L<T, ReduceOp::kMin>::out_of_place, &L<T, ReduceOp::kMin>::in_place}}};
}

template <template <DataType, ReduceOp> class L>
constexpr CpuReduceLoops make_reduce_loops(std::string_view isa) {
  static_assert(static_cast<size_t>(DataType::kFloat32) == 0 &&
                static_cast<size_t>(DataType::kFloat64) == 1 &&
                static_cast<size_t>(DataType::kFloat16) == 2 &&
                static_cast<size_t>(DataType::kBFloat16) == 3 &&
                static_cast<size_t>(DataType::kInt32) == 4 && kAllDataTypes.size() == 5);
  return {isa,
          {reduce_loop_row<L, DataType::kFloat32>(), reduce_loop_row<L, DataType::kFloat64>(),
           reduce_loop_row<L, DataType::kFloat16>(), reduce_loop_row<L, DataType::kBFloat16>(),
           reduce_loop_row<L, DataType::kInt32>()}};
}

// Plain C++ loops compiled for the architecture's baseline (SSE2 on x86-64): any CPU.
const CpuReduceLoops& baseline_reduce_loops();
// The same loops compiled for AVX2, with F16C converting fp16; nullptr unless this is an x86-64
// build running on a CPU (and OS) with AVX2 and F16C.
const CpuReduceLoops* avx2_reduce_loops();
// The fastest variant this CPU runs.
const CpuReduceLoops& best_cpu_reduce_loops();

// `memory`: host, or cuda-pinned (page-locked host memory the CPU reads and writes directly).
std::unique_ptr<ReduceKernel> make_cpu_reduce_kernel(const CpuReduceLoops& loops,
                                                     MemoryKind memory = MemoryKind::kHost);

}  // namespace fb
