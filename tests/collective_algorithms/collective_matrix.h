// Runs registered collective algorithms over a matrix of cases on one rank and checks every
// output element exactly, plus the bytes around every buffer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fabricbench/collectives/algorithm.h"

namespace fb::collective_tests {

struct Case {
  const Algorithm* algorithm = nullptr;
  DataType dtype = DataType::kFloat32;
  ReduceOp op = ReduceOp::kSum;
  size_t block = 0;  // elements per block; count = block * ranks
  bool in_place = false;
};

// One input element of one rank set to corrupt_value().
struct Corruption {
  int rank;
  size_t index;  // into that rank's input
};

std::string describe(const Case& c, int ranks);
std::string join(const std::vector<size_t>& indices);  // " 1 5 9"

bool can_run_in_place(CollectiveKind kind);
bool reduces(CollectiveKind kind);

// The output elements of `rank` that `corruption` makes wrong, worked out from the
// collective's definition (independently of how values are computed).
std::vector<size_t> elements_changed_by(const Case& c, int rank, const Corruption& corruption);

// A rank's buffers, allocated once for the largest case, with guard bytes around each.
class RankBuffers {
 public:
  RankBuffers(size_t max_count, size_t max_scratch);

  // Runs one case. A transport or algorithm error is returned (the job cannot go on); wrong
  // data is appended to `failures` (the job goes on, so peers do not hang). With
  // `wrong_elements`, the indices of wrong output elements are stored there (all of them).
  Status run(const Communicator& comm, const Case& c, const std::optional<Corruption>& corruption,
             std::vector<std::string>& failures, std::vector<size_t>* wrong_elements = nullptr);

 private:
  std::vector<std::byte> input_;
  std::vector<std::byte> output_;
  std::vector<std::byte> scratch_;
};

struct Matrix {
  std::vector<DataType> dtypes;
  std::vector<ReduceOp> ops;
  std::vector<size_t> block_sizes;  // elements per block
  std::vector<size_t> windows;  // one Communicator per window
  bool in_place = true;
  size_t chunk_bytes = 64;  // tiny, so that small counts take several chunks
};

// Every registered algorithm over the matrix, on this rank of `context`'s job; failures as in
// RankBuffers::run. `cases` counts the collectives run.
Status run_matrix(Context& context, const Matrix& matrix, std::vector<std::string>& failures, size_t& cases);

// The communicator options of the tests.
CommunicatorOptions test_options(size_t window, size_t chunk_bytes = 64);

}  // namespace fb::collective_tests
