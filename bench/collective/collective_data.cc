#include "collective/collective_data.h"

#include "fabricbench/collectives/element_access.h"

namespace fb {
namespace {

// Below 251 and integral, so exact in every type (bf16 holds integers up to 256); the
// multipliers make neighbouring ranks and elements differ, so a block landing at the wrong
// place or from the wrong rank shows.
double moved_value(int source_rank, size_t index) {
  return static_cast<double>((static_cast<uint64_t>(source_rank) * 37 + index * 11) % 251);
}

constexpr double kNeverMoved = 252;  // outside moved_value's range

bool is_reduction(CollectiveKind kind) {
  return kind == CollectiveKind::kAllReduce || kind == CollectiveKind::kReduceScatter;
}

}  // namespace

Expected<CollectiveData> CollectiveData::make(const CollectiveShape& shape) {
  CollectiveData data(shape);
  if (is_reduction(shape.kind)) {
    FB_TRY_ASSIGN(ReduceValues values, ReduceValues::make(shape.dtype, shape.op, shape.ranks));
    data.reduce_ = values;
  }
  return data;
}

double CollectiveData::input(int rank, size_t index) const {
  if (reduce_) return reduce_->input(rank, index);
  return moved_value(rank, index);
}

double CollectiveData::expected_output(int rank, size_t index) const {
  const size_t block = shape_.block();
  switch (shape_.kind) {
    case CollectiveKind::kAllReduce: return reduce_->expected(index);
    case CollectiveKind::kReduceScatter: return reduce_->expected(static_cast<size_t>(rank) * block + index);
    case CollectiveKind::kAllGather: return moved_value(static_cast<int>(index / block), index % block);
    case CollectiveKind::kAllToAll:
      // Block s of this rank's output is block `rank` of rank s's input.
      return moved_value(static_cast<int>(index / block), static_cast<size_t>(rank) * block + index % block);
  }
  return 0;
}

double CollectiveData::corrupted_input(int rank, size_t index) const {
  if (!reduce_) return kNeverMoved;
  // Sum: one more than the right input changes the total by one. Max and min: one past the
  // exact result, which then wins. Every value stays an exact small integer.
  switch (shape_.op) {
    case ReduceOp::kSum: return reduce_->input(rank, index) + 1;
    case ReduceOp::kMax: return reduce_->expected(index) + 1;
    case ReduceOp::kMin: return reduce_->expected(index) - 1;
  }
  return 0;
}

Status fill_input(const CollectiveData& data, const CollectiveShape& shape, int rank, MemorySpan input,
                  MemorySpan staging, const std::optional<InjectedCorruption>& corruption) {
  const size_t count = shape.input_count();
  fill_values(staging.data, count, shape.dtype, [&](size_t i) { return data.input(rank, i); });
  if (corruption && corruption->rank == rank && corruption->index < count)
    store_value(staging.data, corruption->index, shape.dtype, data.corrupted_input(rank, corruption->index));
  return copy_memory(input, staging, shape.input_bytes());
}

Expected<size_t> count_wrong_output(const CollectiveData& data, const CollectiveShape& shape, int rank,
                                    MemorySpan output, MemorySpan staging) {
  FB_TRY(copy_memory(staging, output, shape.output_bytes()));
  return count_wrong(staging.data, shape.output_count(), shape.dtype,
                     [&](size_t i) { return data.expected_output(rank, i); });
}

}  // namespace fb
