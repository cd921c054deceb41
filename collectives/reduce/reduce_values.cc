#include "fabricbench/collectives/reduce_values.h"

#include <algorithm>
#include <string>

namespace fb {

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
  ReduceParams& p = values.params_;
  p.op = op;
  p.ranks = static_cast<uint64_t>(ranks);
  const int64_t limit = std::min<int64_t>(exact_integer_limit(type), int64_t{1} << 24);
  const auto half = static_cast<uint64_t>(limit) / 2;
  p.bump_period = std::min<uint64_t>(half, 1024) - 1;
  if (p.ranks <= half)
    p.modulus = std::min(values_detail::kMaxSpread, half / p.ranks + 1);
  else
    p.stride = (p.ranks + half - 1) / half;
  return values;
}

}  // namespace fb
