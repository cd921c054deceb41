#include "fabricbench/collectives/reduce_values.h"

#include <algorithm>
#include <string>

namespace fb {
namespace {

constexpr uint64_t kMaxSpread = 64;  // spread values stay below this: small, readable dumps
constexpr uint64_t kMaxBase = 64;    // max/min: ranks other than the peak hold [0, 64)

// sum over c in [0, count) of (start + c) mod q, for start < q.
uint64_t sum_of_residues(uint64_t start, uint64_t count, uint64_t q) {
  const uint64_t full = count / q * (q * (q - 1) / 2);
  const uint64_t t = count % q;
  if (start + t <= q) return full + t * start + t * (t - 1) / 2;
  const uint64_t to_top = q - start;             // start .. q-1
  const uint64_t wrapped = t - to_top;           // 0 .. wrapped-1
  return full + (start + q - 1) * to_top / 2 + wrapped * (wrapped - 1) / 2;
}

}  // namespace

int64_t exact_integer_limit(DataType type) {
  switch (type) {
    case DataType::kFloat32: return int64_t{1} << 24;
    case DataType::kFloat64: return int64_t{1} << 53;
    case DataType::kFloat16: return 2048;
    case DataType::kBFloat16: return 256;
    case DataType::kInt32: return INT32_MAX;
  }
  return 0;
}

Expected<ReduceValues> ReduceValues::make(DataType type, ReduceOp op, int ranks) {
  if (!is_valid(type) || !is_valid(op))
    return Status::error(StatusCode::kInvalidArgument, "invalid data type or reduce op", FB_HERE);
  if (ranks < 1)
    return Status::error(StatusCode::kInvalidArgument,
                         "a reduction needs at least one rank, not " + std::to_string(ranks), FB_HERE);
  ReduceValues values;
  values.op_ = op;
  values.ranks_ = static_cast<uint64_t>(ranks);
  const int64_t limit = std::min<int64_t>(exact_integer_limit(type), int64_t{1} << 24);
  const auto half = static_cast<uint64_t>(limit) / 2;
  values.bump_period_ = std::min<uint64_t>(half, 1024) - 1;
  if (values.ranks_ <= half)
    values.modulus_ = std::min(kMaxSpread, half / values.ranks_ + 1);
  else
    values.stride_ = (values.ranks_ + half - 1) / half;
  return values;
}

uint64_t ReduceValues::max_input(uint64_t rank, uint64_t index) const {
  return rank == index % ranks_ ? kMaxBase + bump(index) : (rank + index) % kMaxBase;
}

// The sum over all ranks of the spread term at this element.
uint64_t ReduceValues::spread_total(uint64_t index) const {
  if (modulus_ != 0) return sum_of_residues(index % modulus_, ranks_, modulus_);
  // Ranks r with (r + index) mod s == 0: r = first, first + s, ... below n.
  const uint64_t first = (stride_ - index % stride_) % stride_;
  return first < ranks_ ? (ranks_ - 1 - first) / stride_ + 1 : 0;
}

double ReduceValues::input(int rank, size_t index) const {
  const auto r = static_cast<uint64_t>(rank);
  switch (op_) {
    case ReduceOp::kSum: {
      const uint64_t spread =
          modulus_ != 0 ? (r + index) % modulus_ : static_cast<uint64_t>((r + index) % stride_ == 0);
      return static_cast<double>(spread + (r == index % ranks_ ? bump(index) : 0));
    }
    case ReduceOp::kMax: return static_cast<double>(max_input(r, index));
    case ReduceOp::kMin: return 0.0 - static_cast<double>(max_input(r, index));  // never -0
  }
  return 0;
}

double ReduceValues::expected(size_t index) const {
  switch (op_) {
    case ReduceOp::kSum: return static_cast<double>(spread_total(index) + bump(index));
    case ReduceOp::kMax: return static_cast<double>(kMaxBase + bump(index));
    case ReduceOp::kMin: return -static_cast<double>(kMaxBase + bump(index));
  }
  return 0;
}

}  // namespace fb
