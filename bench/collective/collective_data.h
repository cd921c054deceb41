// What every rank puts into a collective's input and what it must find in the output: exact
// values in every data type (see reduce_values.h for the reductions; all-gather and all-to-all
// move small integers naming their source rank and position). Each buffer's values are a
// ValueScheme, so a buffer is filled and checked where it lives by its memory kind's kernel
// (on the device for device memory), and through a host staging copy only for a kind without one.
#pragma once

#include <cstddef>
#include <optional>

#include "fabricbench/collectives/algorithm.h"
#include "fabricbench/collectives/reduce_values.h"
#include "fabricbench/transport/memory.h"
#include "plan.h"

namespace fb {

class CollectiveData {
 public:
  // kInvalidArgument for an invalid type or op.
  static Expected<CollectiveData> make(const CollectiveShape& shape);

  // Every element of rank `rank`'s input, and of what it must find in its output.
  ValueScheme input_scheme(int rank) const;
  ValueScheme output_scheme(int rank) const;

  // The value rank `rank` puts at element i of its input, and the value it must find at
  // element i of its output.
  double input(int rank, size_t index) const { return input_scheme(rank).value(index); }
  double expected_output(int rank, size_t index) const { return output_scheme(rank).value(index); }
  // A value for input element `index` of `rank` that makes the output wrong somewhere.
  double corrupted_input(int rank, size_t index) const;

 private:
  explicit CollectiveData(const CollectiveShape& shape) : shape_(shape) {}
  CollectiveShape shape_;
  std::optional<ReduceValues> reduce_;
};

// Fills `input` (any memory kind) for `rank`. `staging` (host, at least input_bytes()) is used
// for a memory kind without a kernel that fills, and for the one corrupted element.
Status fill_input(const CollectiveData& data, const CollectiveShape& shape, int rank, MemorySpan input,
                  MemorySpan staging, const std::optional<InjectedCorruption>& corruption);

// Counts the output elements of `rank` that differ from the exact result; `staging` as above.
Expected<size_t> count_wrong_output(const CollectiveData& data, const CollectiveShape& shape, int rank,
                                    MemorySpan output, MemorySpan staging);

// buffer[i] = scheme.value(i) for i < count, by the kernel of the buffer's memory kind, or when
// that kind has none (or its kernel cannot fill), in `staging` (host, at least count elements)
// copied over with copy_memory.
Status fill_buffer(MemorySpan buffer, size_t count, DataType type, const ValueScheme& scheme, MemorySpan staging);

// How many of buffer[0, count) differ from scheme.value(i); where like fill_buffer.
Expected<size_t> count_wrong_in(MemorySpan buffer, size_t count, DataType type, const ValueScheme& scheme,
                                MemorySpan staging);

}  // namespace fb
