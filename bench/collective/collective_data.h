// What every rank puts into a collective's input and what it must find in the output: exact
// values in every data type (see reduce_values.h for the reductions; all-gather and all-to-all
// move small integers naming their source rank and position), filled and checked through a
// host copy so the same code serves every memory kind.
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

  // The value rank `rank` puts at element i of its input, and the value it must find at
  // element i of its output.
  double input(int rank, size_t index) const;
  double expected_output(int rank, size_t index) const;
  // A value for input element `index` of `rank` that makes the output wrong somewhere.
  double corrupted_input(int rank, size_t index) const;

 private:
  explicit CollectiveData(const CollectiveShape& shape) : shape_(shape) {}
  CollectiveShape shape_;
  std::optional<ReduceValues> reduce_;
};

// Fills `input` (any memory kind) for `rank`, through `staging` (host, at least input_bytes()).
Status fill_input(const CollectiveData& data, const CollectiveShape& shape, int rank, MemorySpan input,
                  MemorySpan staging, const std::optional<InjectedCorruption>& corruption);

// Counts the output elements of `rank` that differ from the exact result.
Expected<size_t> count_wrong_output(const CollectiveData& data, const CollectiveShape& shape, int rank,
                                    MemorySpan output, MemorySpan staging);

}  // namespace fb
