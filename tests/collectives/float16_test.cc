#include "fabricbench/collectives/float16.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include "cpu_reduce.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace fb {
namespace {

bool fp16_is_nan(uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; }
bool bf16_is_nan(uint16_t b) { return (b & 0x7f80u) == 0x7f80u && (b & 0x7fu) != 0; }
float from_bits(uint32_t bits) { return std::bit_cast<float>(bits); }

// The value of an fp16 from its definition, not from the code under test.
double fp16_reference_value(uint16_t h) {
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) return mantissa ? NAN : sign * INFINITY;
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

// Nearest fp16 to value, ties to the even mantissa, by search over every finite fp16.
uint16_t fp16_reference_round(float value) {
  static const std::vector<double> positives = [] {
    std::vector<double> v;
    for (uint32_t h = 0; h <= 0x7bff; ++h) v.push_back(fp16_reference_value(static_cast<uint16_t>(h)));
    v.push_back(65536.0);  // infinity stands where the next binade would start
    return v;
  }();
  const double magnitude = std::fabs(double{value});
  const uint16_t sign = std::signbit(value) ? 0x8000 : 0;
  if (magnitude >= 65536.0) return sign | 0x7c00;
  auto above = std::lower_bound(positives.begin(), positives.end(), magnitude);
  auto hi = static_cast<uint16_t>(above - positives.begin());
  if (*above == magnitude) return sign | hi;
  const auto lo = static_cast<uint16_t>(hi - 1);
  const double down = magnitude - positives[lo], up = positives[hi] - magnitude;
  if (down < up || (down == up && (lo & 1) == 0)) return sign | lo;
  return sign | hi;
}

TEST(Fp16, KnownValues) {
  EXPECT_EQ(float_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(float_to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(float_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(float_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(float_to_fp16(0x1p-14f), 0x0400);  // smallest normal
  EXPECT_EQ(float_to_fp16(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_fp16(-0x1p-24f), 0x8001);
  EXPECT_EQ(float_to_fp16(1023 * 0x1p-24f), 0x03ff);  // largest subnormal
  EXPECT_EQ(fp16_to_float(0x3555), 0.333251953125f);
  EXPECT_EQ(fp16_to_float(0x0001), 0x1p-24f);
  EXPECT_EQ(fp16_to_float(0x03ff), 1023 * 0x1p-24f);
  EXPECT_EQ(fp16_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_float(0x7c00), INFINITY);
  EXPECT_EQ(fp16_to_float(0xfc00), -INFINITY);
  EXPECT_TRUE(std::signbit(fp16_to_float(0x8000)));
  static_assert(float_to_fp16(2048.0f) == 0x6800 && fp16_to_float(0x6800) == 2048.0f);
}

TEST(Fp16, RoundsTiesToEven) {
  EXPECT_EQ(float_to_fp16(1.0f + 0x1p-11f), 0x3c00);              // tie, down to even
  EXPECT_EQ(float_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);          // tie, up to even
  EXPECT_EQ(float_to_fp16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);   // just above the tie
  EXPECT_EQ(float_to_fp16(1.0f + 0x1p-11f - 0x1p-20f), 0x3c00);   // just below
  EXPECT_EQ(float_to_fp16(2049.0f), 0x6800);                      // 2048 | 2050: to 2048
  EXPECT_EQ(float_to_fp16(2051.0f), 0x6802);                      // 2050 | 2052: to 2052
  EXPECT_EQ(float_to_fp16(-2051.0f), 0xe802);
}

TEST(Fp16, OverflowsToInfinity) {
  EXPECT_EQ(float_to_fp16(65519.0f), 0x7bff);   // below the midpoint to 65536
  EXPECT_EQ(float_to_fp16(65520.0f), 0x7c00);   // the midpoint: the odd 65504 loses
  EXPECT_EQ(float_to_fp16(1e6f), 0x7c00);
  EXPECT_EQ(float_to_fp16(-1e6f), 0xfc00);
  EXPECT_EQ(float_to_fp16(3.0e38f), 0x7c00);
  EXPECT_EQ(float_to_fp16(INFINITY), 0x7c00);
  EXPECT_EQ(float_to_fp16(-INFINITY), 0xfc00);
}

TEST(Fp16, SubnormalsRoundTiesToEven) {
  EXPECT_EQ(float_to_fp16(0x1p-25f), 0x0000);                 // 0 | 2^-24: to 0
  EXPECT_EQ(float_to_fp16(3 * 0x1p-25f), 0x0002);             // 1 | 2 steps: to 2
  EXPECT_EQ(float_to_fp16(0x1p-25f + 0x1p-40f), 0x0001);
  EXPECT_EQ(float_to_fp16(0x1p-26f), 0x0000);
  EXPECT_EQ(float_to_fp16(1023.5f * 0x1p-24f), 0x0400);       // into the normals
  EXPECT_EQ(float_to_fp16(-0x1p-25f), 0x8000);
  EXPECT_EQ(float_to_fp16(from_bits(1)), 0x0000);             // a float subnormal
  EXPECT_EQ(float_to_fp16(from_bits(0x80000001u)), 0x8000);
}

TEST(Fp16, NaNStaysQuietNaN) {
  for (uint32_t bits : {0x7fc00000u, 0x7f800001u, 0xffc00000u, 0x7fffffffu, 0x7f802000u}) {
    const uint16_t h = float_to_fp16(from_bits(bits));
    EXPECT_TRUE(fp16_is_nan(h)) << std::hex << bits;
    EXPECT_TRUE(h & 0x0200u) << std::hex << bits;
    EXPECT_EQ(h & 0x8000u, (bits >> 16) & 0x8000u);
  }
  EXPECT_TRUE(std::isnan(fp16_to_float(0x7c01)));
  EXPECT_TRUE(std::isnan(fp16_to_float(0xfe00)));
}

TEST(Fp16, EveryValueConvertsExactlyAndRoundTrips) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto h = static_cast<uint16_t>(bits);
    const float f = fp16_to_float(h);
    if (fp16_is_nan(h)) {
      EXPECT_TRUE(std::isnan(f)) << bits;
      EXPECT_TRUE(fp16_is_nan(float_to_fp16(f))) << bits;
      EXPECT_EQ(std::signbit(f), (h & 0x8000) != 0);
      continue;
    }
    ASSERT_EQ(double{f}, fp16_reference_value(h)) << bits;
    ASSERT_EQ(float_to_fp16(f), h) << bits;
  }
}

TEST(Fp16, MatchesNearestEvenReferenceAcrossFloats) {
  std::mt19937 random(42);
  std::vector<uint32_t> inputs;
  for (uint32_t exponent = 90; exponent <= 160; ++exponent)  // around the fp16 range
    for (uint32_t low : {0u, 1u, 0xfffu, 0x1000u, 0x1001u, 0x1fffu, 0x2000u, 0x3000u, 0x7fffffu})
      for (uint32_t sign : {0u, 0x80000000u}) inputs.push_back(sign | exponent << 23 | low);
  for (int i = 0; i < 200000; ++i) inputs.push_back((random() % 71 + 90) << 23 | (random() & 0x807fffffu));
  for (uint32_t bits : inputs) {
    const float f = from_bits(bits);
    ASSERT_EQ(float_to_fp16(f), fp16_reference_round(f)) << std::hex << bits << " " << f;
  }
}

#if defined(__x86_64__)
[[gnu::target("f16c")]] uint16_t hardware_fp16(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

TEST(Fp16, MatchesF16cOnEveryNthFloat) {
  if (!avx2_reduce_loops()) GTEST_SKIP() << "this CPU has no AVX2 and F16C";
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 4093) {  // a prime stride: every pattern
    const float f = from_bits(static_cast<uint32_t>(bits));
    ASSERT_EQ(float_to_fp16(f), hardware_fp16(f)) << std::hex << bits;
  }
}
#endif

TEST(Bf16, KnownValuesAndTiesToEven) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(bf16_to_float(0x4380), 256.0f);
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f), 0x3f80);       // tie, down to even
  EXPECT_EQ(float_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);   // tie, up to even
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
  EXPECT_EQ(float_to_bf16(257.0f), 0x4380);                // 256 | 258: to 256
  EXPECT_EQ(float_to_bf16(259.0f), 0x4382);                // 258 | 260: to 260
  EXPECT_EQ(bf16_to_float(float_to_bf16(259.0f)), 260.0f);
}

TEST(Bf16, OverflowSubnormalsAndNaN) {
  EXPECT_EQ(float_to_bf16(from_bits(0x7f7fffffu)), 0x7f80);  // FLT_MAX rounds up to infinity
  EXPECT_EQ(float_to_bf16(from_bits(0x7f7f7fffu)), 0x7f7f);
  EXPECT_EQ(float_to_bf16(from_bits(0xff7fffffu)), 0xff80);
  EXPECT_EQ(float_to_bf16(INFINITY), 0x7f80);
  EXPECT_EQ(float_to_bf16(from_bits(0x00000001u)), 0x0000);  // far below the last step
  EXPECT_EQ(float_to_bf16(from_bits(0x00018000u)), 0x0002);  // tie: to even
  EXPECT_EQ(float_to_bf16(from_bits(0x00008000u)), 0x0000);  // tie: to even (zero)
  EXPECT_EQ(bf16_to_float(0x0001), from_bits(0x00010000u));
  // A NaN whose payload sits only in the dropped bits must not become infinity.
  EXPECT_EQ(float_to_bf16(from_bits(0x7f800001u)), 0x7fc0);
  EXPECT_TRUE(bf16_is_nan(float_to_bf16(from_bits(0xffc00000u))));
}

TEST(Bf16, EveryValueRoundTrips) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto b = static_cast<uint16_t>(bits);
    const float f = bf16_to_float(b);
    if (bf16_is_nan(b))
      ASSERT_TRUE(bf16_is_nan(float_to_bf16(f))) << bits;
    else
      ASSERT_EQ(float_to_bf16(f), b) << bits;
  }
}

}  // namespace
}  // namespace fb
