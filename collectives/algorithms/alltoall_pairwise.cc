// All-to-all, pairwise exchange: n-1 steps, in each of which every rank sends one block to one
// rank and receives one block from another, straight between input and output. For a power of
// two the partner in step s is r^s (pairs swap, one peer per step); otherwise rank r sends to
// (r+s) mod n and receives from (r-s) mod n.
//
// Matching: the send partners r^s (or r+s) over s = 1..n-1 are all distinct, so an ordered pair
// of ranks carries exactly one transfer per invocation.
// Scratch: none (in place is not supported).
#include "algorithm_util.h"

namespace fb {
namespace {

size_t scratch_bytes(const CollectiveShape&) { return 0; }

Status run(const Communicator& comm, const CollectiveShape& shape, const CollectiveBuffers& buffers) {
  FB_TRY(check_invocation(comm, shape, buffers, CollectiveKind::kAllToAll, scratch_bytes(shape)));
  const int n = comm.size();
  const int r = comm.rank();
  const size_t block_bytes = shape.block() * shape.element_bytes();
  auto input_block = [&](int b) {
    return algo::bytes(buffers.input.data() + static_cast<size_t>(b) * block_bytes, block_bytes);
  };
  auto output_block = [&](int b) {
    return algo::bytes(buffers.output.data() + static_cast<size_t>(b) * block_bytes, block_bytes);
  };
  FB_TRY(comm.copy(output_block(r).data(), input_block(r).data(), block_bytes));
  if (n == 1 || block_bytes == 0) return {};

  const bool pairs = algo::is_power_of_two(n);
  for (int s = 1; s < n; ++s) {
    const int to = pairs ? r ^ s : algo::ring(r, s, n);
    const int from = pairs ? r ^ s : algo::ring(r, -s, n);
    FB_TRY(comm.exchange(to, input_block(to), from, output_block(from)));
  }
  return {};
}

}  // namespace

FB_REGISTER_ALGORITHM(CollectiveKind::kAllToAll, "pairwise", &run, &scratch_bytes);

}  // namespace fb
