// The two 16-bit float formats, held as raw bits and computed on as float.
//
// The conversions are branch-free (selects, no data-dependent jumps) so that loops over them
// vectorise on any x86-64 or AArch64 baseline, and they never make or read a float subnormal,
// so they stay exact when a library has switched the FPU to flush-to-zero / denormals-are-zero.
// Float to 16-bit rounds to nearest, ties to even, like the hardware converters (F16C, CUDA),
// and makes NaN a quiet NaN with the upper payload bits kept.
#pragma once

#include <bit>
#include <cstdint>

namespace fb {
namespace float16_detail {

// cond ? a : b with masks. A plain ?: lets the compiler sink each arm's float arithmetic into a
// branch, and then, as float operations may trap, it will not make the loop branch-free again.
constexpr uint32_t pick(bool cond, uint32_t a, uint32_t b) {
  return b ^ ((a ^ b) & (0u - static_cast<uint32_t>(cond)));
}

}  // namespace float16_detail

// IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits; largest finite 65504.
// Comparisons are on int32 (magnitudes are below 2^31): SSE2 has signed compares only.
constexpr float fp16_to_float(uint16_t half) {
  using float16_detail::pick;
  const uint32_t sign = uint32_t{half & 0x8000u} << 16;
  const int32_t magnitude = half & 0x7fff;
  // Normal: rebias the exponent from 15 to 127 by one add. Infinity and NaN (exponent 31) take
  // a second add to reach float's exponent 255; a NaN keeps its payload.
  const uint32_t rebias = (127u - 15u) << 23;
  const uint32_t normal = (static_cast<uint32_t>(magnitude) << 13) + rebias +
                          pick(magnitude >= 0x7c00, rebias, 0);
  // Subnormal (and zero): mantissa * 2^-24, computed as a normal float.
  const uint32_t subnormal = std::bit_cast<uint32_t>(static_cast<float>(magnitude) * 0x1p-24f);
  return std::bit_cast<float>(pick(magnitude >= 0x0400, normal, subnormal) | sign);
}

constexpr uint16_t float_to_fp16(float value) {
  using float16_detail::pick;
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const int32_t magnitude = static_cast<int32_t>(bits & 0x7fffffffu);
  const auto m = static_cast<uint32_t>(magnitude);
  const uint32_t nan = 0x7e00u | ((m >> 13) & 0x3ffu);
  // From 2^-14 up: rebias, then round the 13 dropped bits to nearest even. A carry out of the
  // mantissa moves the exponent up, which also turns [65520, 65536) into infinity as it must.
  const uint32_t odd = (m >> 13) & 1u;
  const uint32_t normal = (m - ((127u - 15u) << 23) + 0xfffu + odd) >> 13;
  // Below 2^-14: adding 0.5 puts the float's last mantissa bit at 2^-24, the fp16 subnormal
  // step, so the FPU's own round-to-nearest-even does the rounding. The sum is a normal float.
  const uint32_t subnormal = std::bit_cast<uint32_t>(std::bit_cast<float>(m) + 0.5f) - 0x3f000000u;
  const uint32_t finite = pick(magnitude >= 0x38800000, normal, subnormal);  // 2^-14
  const uint32_t big = pick(magnitude > 0x7f800000, nan, 0x7c00u);  // >= 65536, inf, NaN
  return static_cast<uint16_t>(pick(magnitude >= 0x47800000, big, finite) | sign);
}

// bfloat16: the upper half of a float (8 exponent, 7 mantissa bits); largest finite ~3.39e38.
constexpr float bf16_to_float(uint16_t bf16) { return std::bit_cast<float>(uint32_t{bf16} << 16); }

constexpr uint16_t float_to_bf16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  // Ties to even on the 16 dropped bits; the carry rounds the largest floats up to infinity.
  const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  const uint32_t nan = (bits >> 16) | 0x0040u;
  const bool is_nan = static_cast<int32_t>(bits & 0x7fffffffu) > 0x7f800000;
  return static_cast<uint16_t>(float16_detail::pick(is_nan, nan, rounded));
}

}  // namespace fb
