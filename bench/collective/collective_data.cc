#include "collective/collective_data.h"

#include "fabricbench/collectives/element_access.h"
#include "fabricbench/collectives/reduce.h"

namespace fb {
namespace {

constexpr double kNeverMoved = 252;  // outside moved_value's range

bool is_reduction(CollectiveKind kind) {
  return kind == CollectiveKind::kAllReduce || kind == CollectiveKind::kReduceScatter;
}

// The kernel that fills and checks `kind` in place, or null where the staging copy must do.
Expected<const ReduceKernel*> kernel_in_place(MemoryKind kind) {
  auto kernel = reduce_kernel_for(kind);
  if (kernel.ok()) return kernel.value();
  if (kernel.status().code() == StatusCode::kUnsupported) return static_cast<const ReduceKernel*>(nullptr);
  return kernel.status();
}

MemorySpan host_span(void* data, size_t bytes) { return {data, bytes, MemoryKind::kHost}; }

}  // namespace

Expected<CollectiveData> CollectiveData::make(const CollectiveShape& shape) {
  CollectiveData data(shape);
  if (is_reduction(shape.kind)) {
    FB_TRY_ASSIGN(ReduceValues values, ReduceValues::make(shape.dtype, shape.op, shape.ranks));
    data.reduce_ = values;
  }
  return data;
}

ValueScheme CollectiveData::input_scheme(int rank) const {
  ValueScheme scheme;
  scheme.values = reduce_ ? ValueScheme::Values::kReduceInput : ValueScheme::Values::kMoved;
  if (reduce_) scheme.reduce = reduce_->params();
  scheme.source = static_cast<uint64_t>(rank);
  return scheme;
}

ValueScheme CollectiveData::output_scheme(int rank) const {
  const uint64_t block = shape_.block();
  const uint64_t r = static_cast<uint64_t>(rank);
  ValueScheme scheme;
  switch (shape_.kind) {
    case CollectiveKind::kAllReduce:
      scheme.values = ValueScheme::Values::kReduceResult;
      break;
    case CollectiveKind::kReduceScatter:  // block `rank` of the reduction
      scheme.values = ValueScheme::Values::kReduceResult;
      scheme.offset = r * block;
      break;
    case CollectiveKind::kAllGather:  // block s is rank s's input
      scheme.values = ValueScheme::Values::kMoved;
      scheme.block = block;
      break;
    case CollectiveKind::kAllToAll:  // block s is block `rank` of rank s's input
      scheme.values = ValueScheme::Values::kMoved;
      scheme.block = block;
      scheme.offset = r * block;
      break;
  }
  if (reduce_) scheme.reduce = reduce_->params();
  return scheme;
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

Status fill_buffer(MemorySpan buffer, size_t count, DataType type, const ValueScheme& scheme, MemorySpan staging) {
  FB_TRY_ASSIGN(const ReduceKernel* kernel, kernel_in_place(buffer.kind));
  if (kernel) {
    const Status filled = kernel->fill(buffer.data, count, type, scheme);
    if (filled.code() != StatusCode::kUnsupported) return filled;
  }
  fill_values(staging.data, count, type, [&](size_t i) { return scheme.value(i); });
  return copy_memory(buffer, staging, count * element_size(type));
}

Expected<size_t> count_wrong_in(MemorySpan buffer, size_t count, DataType type, const ValueScheme& scheme,
                                MemorySpan staging) {
  FB_TRY_ASSIGN(const ReduceKernel* kernel, kernel_in_place(buffer.kind));
  if (kernel) {
    auto wrong = kernel->count_wrong(buffer.data, count, type, scheme);
    if (wrong.ok()) return static_cast<size_t>(wrong.value());
    if (wrong.status().code() != StatusCode::kUnsupported) return wrong.status();
  }
  FB_TRY(copy_memory(staging, buffer, count * element_size(type)));
  return count_wrong(staging.data, count, type, [&](size_t i) { return scheme.value(i); });
}

Status fill_input(const CollectiveData& data, const CollectiveShape& shape, int rank, MemorySpan input,
                  MemorySpan staging, const std::optional<InjectedCorruption>& corruption) {
  const size_t count = shape.input_count();
  FB_TRY(fill_buffer(input, count, shape.dtype, data.input_scheme(rank), staging));
  if (!corruption || corruption->rank != rank || corruption->index >= count) return ok_status();
  // One element, written over the filled buffer from the host whatever the buffer's kind.
  const size_t size = shape.element_bytes();
  store_value(staging.data, 0, shape.dtype, data.corrupted_input(rank, corruption->index));
  MemorySpan element{static_cast<std::byte*>(input.data) + corruption->index * size, size, input.kind};
  return copy_memory(element, host_span(staging.data, size), size);
}

Expected<size_t> count_wrong_output(const CollectiveData& data, const CollectiveShape& shape, int rank,
                                    MemorySpan output, MemorySpan staging) {
  return count_wrong_in(output, shape.output_count(), shape.dtype, data.output_scheme(rank), staging);
}

}  // namespace fb
