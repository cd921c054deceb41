// Inputs for checking a reduction (all-reduce, reduce-scatter) whose exact result is known in
// closed form, for any number of ranks, in every data type; and the values a collective that
// only moves data (all-gather, all-to-all) carries. Every value is a closed-form function of a
// few integers (ValueScheme below), so buffers can be filled and checked where they live: the
// formulas compile for the host and, in a .cu file, for CUDA devices too.
//
// Every value is a small integer, and the result and every partial result (any order, any
// grouping of ranks, as ring, tree and recursive-doubling steps combine them) are integers
// within exact_integer_limit(type), so the check compares for equality, never with a tolerance.
//
// Scheme, with n ranks, rank r, element i, L = min(exact_integer_limit, 2^24), H = L / 2:
//   peak(i) = i mod n               one rank per element, each rank peaks every n elements
//   bump(i) = i mod P, P = min(H, 1024) - 1 (odd, so no power-of-two shift of a chunk hides)
// sum: input = spread(r, i) + (r == peak(i) ? bump(i) : 0), every term >= 0, so all partial
//   sums are bounded by the total, and the total is at most H + H = L.
//   n <= H: spread = (r + i) mod q, q = min(64, H / n + 1): every rank adds up to H / n.
//   n >  H: spread = 1 if (r + i) mod s == 0 else 0, s = ceil(n / H): at most H ranks add 1.
//   bf16 (L = 256) over 8 ranks: q = 17, spread in [0, 16], total <= 8 * 16 + 126 = 254;
//   over 4096 ranks: s = 32, 128 ranks add 1 each, total <= 128 + 126.
// max: input = r == peak(i) ? 64 + bump(i) : (r + i) mod 64; the result 64 + bump(i) is
//   held by one rank only, and varies along the buffer.
// min: the negated max inputs; the result is -(64 + bump(i)).
#pragma once

#include <cstddef>
#include <cstdint>

#include "fabricbench/collectives/datatype.h"
#include "fabricbench/transport/status.h"

// Functions the CUDA kernels (transports/cuda) call on the device as well.
#if defined(__CUDACC__)
#define FB_HOST_DEVICE __host__ __device__
#else
#define FB_HOST_DEVICE
#endif

namespace fb {

// The largest M such that every integer in [-M, M] is exact in the type: fp16 2048, bf16 256,
// fp32 2^24, fp64 2^53, int32 2^31 - 1.
int64_t exact_integer_limit(DataType type);

// The scheme's parameters for one (type, op, ranks), as ReduceValues::make computes them.
struct ReduceParams {
  ReduceOp op = ReduceOp::kSum;
  uint64_t ranks = 1;
  uint64_t bump_period = 1;
  uint64_t modulus = 0;  // q, when every rank adds to the sum (n <= H); else 0
  uint64_t stride = 1;   // s, when only every s-th rank adds 1 (n > H)
};

namespace values_detail {

inline constexpr uint64_t kMaxSpread = 64;  // spread values stay below this: small, readable dumps
inline constexpr uint64_t kMaxBase = 64;    // max/min: ranks other than the peak hold [0, 64)

// sum over c in [0, count) of (start + c) mod q, for start < q.
FB_HOST_DEVICE inline uint64_t sum_of_residues(uint64_t start, uint64_t count, uint64_t q) {
  const uint64_t full = count / q * (q * (q - 1) / 2);
  const uint64_t t = count % q;
  if (start + t <= q) return full + t * start + t * (t - 1) / 2;
  const uint64_t to_top = q - start;    // start .. q-1
  const uint64_t wrapped = t - to_top;  // 0 .. wrapped-1
  return full + (start + q - 1) * to_top / 2 + wrapped * (wrapped - 1) / 2;
}

FB_HOST_DEVICE inline uint64_t bump(const ReduceParams& p, uint64_t index) { return index % p.bump_period; }

FB_HOST_DEVICE inline uint64_t max_input(const ReduceParams& p, uint64_t rank, uint64_t index) {
  return rank == index % p.ranks ? kMaxBase + bump(p, index) : (rank + index) % kMaxBase;
}

// The sum over all ranks of the spread term at this element.
FB_HOST_DEVICE inline uint64_t spread_total(const ReduceParams& p, uint64_t index) {
  if (p.modulus != 0) return sum_of_residues(index % p.modulus, p.ranks, p.modulus);
  // Ranks r with (r + index) mod s == 0: r = first, first + s, ... below n.
  const uint64_t first = (p.stride - index % p.stride) % p.stride;
  return first < p.ranks ? (p.ranks - 1 - first) / p.stride + 1 : 0;
}

}  // namespace values_detail

// What `rank` puts at element `index` of its input.
FB_HOST_DEVICE inline double reduce_input(const ReduceParams& p, uint64_t rank, uint64_t index) {
  using namespace values_detail;
  switch (p.op) {
    case ReduceOp::kSum: {
      const uint64_t spread = p.modulus != 0 ? (rank + index) % p.modulus
                                             : static_cast<uint64_t>((rank + index) % p.stride == 0);
      return static_cast<double>(spread + (rank == index % p.ranks ? bump(p, index) : 0));
    }
    case ReduceOp::kMax: return static_cast<double>(max_input(p, rank, index));
    // Negated as an integer: never -0. GCC folds 0.0 - double(x) into -double(x), which is -0
    // for x = 0, while nvcc gives +0, and the host and device fills must agree bit for bit.
    case ReduceOp::kMin: return static_cast<double>(-static_cast<int64_t>(max_input(p, rank, index)));
  }
  return 0;
}

// The reduction over all ranks at element `index`.
FB_HOST_DEVICE inline double reduce_expected(const ReduceParams& p, uint64_t index) {
  using namespace values_detail;
  switch (p.op) {
    case ReduceOp::kSum: return static_cast<double>(spread_total(p, index) + bump(p, index));
    case ReduceOp::kMax: return static_cast<double>(kMaxBase + bump(p, index));
    case ReduceOp::kMin: return -static_cast<double>(kMaxBase + bump(p, index));
  }
  return 0;
}

// What a collective that only moves data carries: element `index` of rank `source`'s input.
// Below 251 and integral, so exact in every type (bf16 holds integers up to 256); the
// multipliers make neighbouring ranks and elements differ, so a block landing at the wrong
// place or from the wrong rank shows.
FB_HOST_DEVICE inline double moved_value(uint64_t source, uint64_t index) {
  return static_cast<double>((source * 37 + index * 11) % 251);
}

class ReduceValues {
 public:
  // kInvalidArgument for ranks < 1 or an invalid type or op.
  static Expected<ReduceValues> make(DataType type, ReduceOp op, int ranks);

  // What rank puts at element i of its input.
  double input(int rank, size_t index) const {
    return reduce_input(params_, static_cast<uint64_t>(rank), index);
  }
  // The reduction over all ranks at element i.
  double expected(size_t index) const { return reduce_expected(params_, index); }

  int ranks() const { return static_cast<int>(params_.ranks); }
  const ReduceParams& params() const { return params_; }

 private:
  ReduceValues() = default;
  ReduceParams params_;
};

// Every value of one buffer as a plain struct, so a kernel can compute element i wherever the
// buffer lives (see ReduceKernel::fill and count_wrong). Element i of the buffer is element
// `position` of rank `source`'s data, where
//   block == 0:  source = this->source, position = offset + i
//   block >  0:  source = i / block,    position = offset + i % block
// and holds, by `values`:
//   kReduceInput   reduce_input(reduce, source, position)
//   kReduceResult  reduce_expected(reduce, position)
//   kMoved         moved_value(source, position)
//   kConstant      constant
// For example all-gather's output is kMoved with block = the block; reduce-scatter's output at
// rank r is kReduceResult with offset = r x block.
struct ValueScheme {
  enum class Values : uint8_t { kReduceInput, kReduceResult, kMoved, kConstant };

  Values values = Values::kConstant;
  ReduceParams reduce;  // kReduceInput, kReduceResult
  double constant = 0;  // kConstant
  uint64_t source = 0;
  uint64_t block = 0;
  uint64_t offset = 0;

  static ValueScheme filled_with(double value) {
    ValueScheme scheme;
    scheme.constant = value;
    return scheme;
  }

  FB_HOST_DEVICE double value(uint64_t index) const {
    const uint64_t from = block == 0 ? source : index / block;
    const uint64_t position = offset + (block == 0 ? index : index % block);
    switch (values) {
      case Values::kReduceInput: return reduce_input(reduce, from, position);
      case Values::kReduceResult: return reduce_expected(reduce, position);
      case Values::kMoved: return moved_value(from, position);
      case Values::kConstant: break;
    }
    return constant;
  }
};

}  // namespace fb
