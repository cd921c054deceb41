// The reduce loops compiled for AVX2 (x86-64-v3 CPUs: Haswell, Zen and later), chosen at run
// time so that the binary still runs on the x86-64 baseline. Every function here carries the
// target attribute and has internal linkage; the shared loops are always inlined into them.
// Nothing in this file may be called without checking avx2_reduce_loops() first.
#include "cpu_reduce.h"

#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>

#include <cstring>

#include "element_ops.h"

#define FB_AVX2 [[gnu::target("avx2,f16c")]]

namespace fb {
namespace {

template <DataType T, ReduceOp Op>
struct Avx2Loops {
  FB_AVX2 static void out_of_place(void* out, const void* a, const void* b, size_t count) {
    reduce_detail::reduce_elements<T, Op>(out, a, b, count);
  }
  FB_AVX2 static void in_place(void* inout, const void* in, size_t count) {
    reduce_detail::reduce_elements_inplace<T, Op>(inout, in, count);
  }
};

// fp16 and bf16 with intrinsics: on Zen 3, fp16 is about 12x and bf16 about 2.5x faster than
// the compiler's AVX2 vectorisation of the portable conversions (F16C converts 8 fp16 per
// instruction; bf16 widens and narrows by unpack and pack instead of long shuffle chains).
// The results are the same bits as the portable loops': both round to nearest even, and
// max/min match combine() exactly (maxps returns its second operand unless the first is
// greater; a NaN in the first operand is put back by the blend).
template <ReduceOp Op>
FB_AVX2 inline __m256 combine8(__m256 a, __m256 b) {
  if constexpr (Op == ReduceOp::kSum) {
    return _mm256_add_ps(a, b);
  } else {
    const __m256 r = Op == ReduceOp::kMax ? _mm256_max_ps(a, b) : _mm256_min_ps(a, b);
    return _mm256_blendv_ps(r, a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
  }
}

FB_AVX2 inline __m128i load128(const uint16_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
FB_AVX2 inline __m256i load256(const uint16_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

template <ReduceOp Op>
struct Fp16Block {
  static constexpr size_t kWidth = 8;
  FB_AVX2 static void run(uint16_t* out, const uint16_t* a, const uint16_t* b) {
    const __m256 r = combine8<Op>(_mm256_cvtph_ps(load128(a)), _mm256_cvtph_ps(load128(b)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_cvtps_ph(r, _MM_FROUND_TO_NEAREST_INT));
  }
};

// float bits -> bf16 in the low half of each 32-bit lane, as float_to_bf16().
FB_AVX2 inline __m256i round_to_bf16(__m256 value) {
  const __m256i bits = _mm256_castps_si256(value);
  const __m256i high = _mm256_srli_epi32(bits, 16);
  const __m256i odd = _mm256_and_si256(high, _mm256_set1_epi32(1));
  const __m256i bias = _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff));
  const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, bias), 16);
  const __m256i nan = _mm256_or_si256(high, _mm256_set1_epi32(0x40));
  const __m256i is_nan = _mm256_castps_si256(_mm256_cmp_ps(value, value, _CMP_UNORD_Q));
  return _mm256_blendv_epi8(rounded, nan, is_nan);
}

// Unpacking bf16 under zeros gives floats in a lane-wise shuffled order; packing undoes it.
template <ReduceOp Op>
struct Bf16Block {
  static constexpr size_t kWidth = 16;
  FB_AVX2 static void run(uint16_t* out, const uint16_t* a, const uint16_t* b) {
    const __m256i x = load256(a), y = load256(b), zero = _mm256_setzero_si256();
    const __m256 low = combine8<Op>(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, x)),
                                    _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, y)));
    const __m256 high = combine8<Op>(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, x)),
                                     _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, y)));
    const __m256i packed = _mm256_packus_epi32(round_to_bf16(low), round_to_bf16(high));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), packed);
  }
};

// Whole blocks, then the tail through the same block on padded copies, so a result never
// depends on where an element sits relative to the block width.
template <typename Block>
FB_AVX2 void blocked_loop(void* out, const void* a, const void* b, size_t count) {
  auto* o = static_cast<uint16_t*>(out);
  const auto* x = static_cast<const uint16_t*>(a);
  const auto* y = static_cast<const uint16_t*>(b);
  constexpr size_t kWidth = Block::kWidth;
  size_t i = 0;
  for (; i + kWidth <= count; i += kWidth) Block::run(o + i, x + i, y + i);
  if (i == count) return;
  uint16_t tx[kWidth] = {}, ty[kWidth] = {}, to[kWidth];
  const size_t rest = count - i;
  std::memcpy(tx, x + i, rest * sizeof(uint16_t));
  std::memcpy(ty, y + i, rest * sizeof(uint16_t));
  Block::run(to, tx, ty);
  std::memcpy(o + i, to, rest * sizeof(uint16_t));
}

template <template <ReduceOp> class Block, ReduceOp Op>
struct BlockedLoops {
  FB_AVX2 static void out_of_place(void* out, const void* a, const void* b, size_t count) {
    blocked_loop<Block<Op>>(out, a, b, count);
  }
  FB_AVX2 static void in_place(void* inout, const void* in, size_t count) {
    blocked_loop<Block<Op>>(inout, inout, in, count);
  }
};

template <ReduceOp Op>
struct Avx2Loops<DataType::kFloat16, Op> : BlockedLoops<Fp16Block, Op> {};
template <ReduceOp Op>
struct Avx2Loops<DataType::kBFloat16, Op> : BlockedLoops<Bf16Block, Op> {};

constexpr CpuReduceLoops kAvx2Loops = make_reduce_loops<Avx2Loops>("avx2");

// AVX2 through the compiler (which also checks that the OS saves the AVX registers); F16C
// from CPUID directly, as not every compiler's __builtin_cpu_supports knows it.
bool cpu_has_avx2_f16c() {
  __builtin_cpu_init();  // may run before the constructors that would otherwise do it
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
  return f16c && __builtin_cpu_supports("avx2");
}

}  // namespace

const CpuReduceLoops* avx2_reduce_loops() {
  static const bool usable = cpu_has_avx2_f16c();
  return usable ? &kAvx2Loops : nullptr;
}

}  // namespace fb

#else

namespace fb {
const CpuReduceLoops* avx2_reduce_loops() { return nullptr; }
}  // namespace fb

#endif
