// The reduce loops for the architecture's baseline instruction set; the compiler vectorises
// them (SSE2 on x86-64, NEON on AArch64).
#include "cpu_reduce.h"
#include "element_ops.h"

namespace fb {
namespace {

template <DataType T, ReduceOp Op>
struct BaselineLoops {
  static void out_of_place(void* out, const void* a, const void* b, size_t count) {
    reduce_detail::reduce_elements<T, Op>(out, a, b, count);
  }
  static void in_place(void* inout, const void* in, size_t count) {
    reduce_detail::reduce_elements_inplace<T, Op>(inout, in, count);
  }
};

constexpr CpuReduceLoops kBaselineLoops = make_reduce_loops<BaselineLoops>("baseline");

}  // namespace

const CpuReduceLoops& baseline_reduce_loops() { return kBaselineLoops; }

}  // namespace fb
