// Inputs for checking a reduction (all-reduce, reduce-scatter) whose exact result is known in
// closed form, for any number of ranks, in every data type.
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

namespace fb {

// The largest M such that every integer in [-M, M] is exact in the type: fp16 2048, bf16 256,
// fp32 2^24, fp64 2^53, int32 2^31 - 1.
int64_t exact_integer_limit(DataType type);

class ReduceValues {
 public:
  // kInvalidArgument for ranks < 1 or an invalid type or op.
  static Expected<ReduceValues> make(DataType type, ReduceOp op, int ranks);

  // What rank puts at element i of its input.
  double input(int rank, size_t index) const;
  // The reduction over all ranks at element i.
  double expected(size_t index) const;

  int ranks() const { return static_cast<int>(ranks_); }

 private:
  ReduceValues() = default;
  uint64_t bump(uint64_t index) const { return index % bump_period_; }
  uint64_t max_input(uint64_t rank, uint64_t index) const;
  uint64_t spread_total(uint64_t index) const;

  ReduceOp op_ = ReduceOp::kSum;
  uint64_t ranks_ = 1;
  uint64_t bump_period_ = 1;
  uint64_t modulus_ = 0;  // q, when every rank adds to the sum (n <= H); else 0
  uint64_t stride_ = 1;   // s, when only every s-th rank adds 1 (n > H)
};

}  // namespace fb
