// Element-wise reduce loops shared by the CPU kernel variants. Each variant's translation unit
// instantiates them inside its own functions (always inlined), so the same source is compiled
// once for the x86-64 baseline and once for AVX2 without any shared out-of-line copy that the
// linker could pick for the wrong CPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "fabricbench/collectives/datatype.h"
#include "fabricbench/collectives/float16.h"

namespace fb::reduce_detail {

// How an element is stored and what it is computed in.
template <DataType T> struct Element;
template <> struct Element<DataType::kFloat32> {
  using Storage = float;
  static float load(float v) { return v; }
  static float store(float v) { return v; }
};
template <> struct Element<DataType::kFloat64> {
  using Storage = double;
  static double load(double v) { return v; }
  static double store(double v) { return v; }
};
// fp16/bf16 go through float and round once at the end. That is the correctly rounded result:
// float's 24-bit significand is at least 2p+2 for p = 11 (fp16) and 8 (bf16), so rounding a
// float sum again to 16 bits never double-rounds (Figueroa's bound).
template <> struct Element<DataType::kFloat16> {
  using Storage = uint16_t;
  static float load(uint16_t v) { return fp16_to_float(v); }
  static uint16_t store(float v) { return float_to_fp16(v); }
};
template <> struct Element<DataType::kBFloat16> {
  using Storage = uint16_t;
  static float load(uint16_t v) { return bf16_to_float(v); }
  static uint16_t store(float v) { return float_to_bf16(v); }
};
template <> struct Element<DataType::kInt32> {
  using Storage = int32_t;
  static int32_t load(int32_t v) { return v; }
  static int32_t store(int32_t v) { return v; }
};

// max/min propagate NaN: if either operand is NaN the result is NaN, so a NaN anywhere in a
// collective's inputs reaches every output instead of vanishing depending on the ring order.
// Of +0 and -0 either may come back (they compare equal).
template <ReduceOp Op, typename V>
[[gnu::always_inline]] inline V combine(V a, V b) {
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

// out[i] = a[i] op b[i]. out may be a or b (in place) but must not partly overlap either.
template <DataType T, ReduceOp Op>
[[gnu::always_inline]] inline void reduce_elements(void* out, const void* a, const void* b,
                                                   size_t count) {
  using E = Element<T>;
  using S = typename E::Storage;
  S* o = static_cast<S*>(out);
  const S* x = static_cast<const S*>(a);
  const S* y = static_cast<const S*>(b);
  for (size_t i = 0; i < count; ++i) o[i] = E::store(combine<Op>(E::load(x[i]), E::load(y[i])));
}

// inout[i] = inout[i] op in[i]. Its own loop because the three-stream loop above, called with
// out == a, may run scalar: its runtime overlap test (clang's, for one) cannot tell the same
// buffer from a partly overlapping one.
template <DataType T, ReduceOp Op>
[[gnu::always_inline]] inline void reduce_elements_inplace(void* inout, const void* in,
                                                           size_t count) {
  using E = Element<T>;
  using S = typename E::Storage;
  S* o = static_cast<S*>(inout);
  const S* y = static_cast<const S*>(in);
  for (size_t i = 0; i < count; ++i) o[i] = E::store(combine<Op>(E::load(o[i]), E::load(y[i])));
}

}  // namespace fb::reduce_detail
