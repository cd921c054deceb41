// All-gather, Bruck (Bruck et al. 1997): ceil(log2(n)) steps for any n. In the step with
// distance d = 1, 2, 4, ... rank r, which holds the blocks of ranks r, r+1, ..., r+d-1 (mod n),
// sends the first min(d, n-d) of them to rank r-d and receives as many from rank r+d (its
// blocks r+d, ...), so after the step it holds min(2d, n) consecutive blocks.
//
// The textbook version gathers into a scratch buffer in that rotated order and rotates it by r
// at the end. Here each block is written straight to its final place in the output instead: a
// run of consecutive blocks mod n is at most two contiguous ranges (it may wrap past block
// n-1), sent or received as one two-part transfer. Same messages, no scratch, no rotation.
//
// Matching: in step d a rank sends only to r-d and receives only from r+d; the distances are
// distinct and below n, so an ordered pair of ranks carries at most one transfer per
// invocation. Sender and receiver split the run at the same wrap point (it depends only on the
// run, which both compute from the sender's rank).
// Scratch: none.
#include <algorithm>

#include "algorithm_util.h"

namespace fb {
namespace {

size_t scratch_bytes(const CollectiveShape&) { return 0; }

Status run(const Communicator& comm, const CollectiveShape& shape, const CollectiveBuffers& buffers) {
  FB_TRY(check_invocation(comm, shape, buffers, CollectiveKind::kAllGather, scratch_bytes(shape)));
  const int n = comm.size();
  const int r = comm.rank();
  const size_t block_bytes = shape.input_bytes();
  std::byte* out = buffers.output.data();
  FB_TRY(comm.copy(out + static_cast<size_t>(r) * block_bytes, buffers.input.data(), block_bytes));
  if (n == 1 || block_bytes == 0) return {};

  // Blocks first, first+1, ..., first+count-1 (mod n) as up to two output ranges.
  auto run_of = [&](int first, int count) {
    const int head = std::min(count, n - first);
    return Communicator::RecvParts{
        algo::bytes(out + static_cast<size_t>(first) * block_bytes, static_cast<size_t>(head) * block_bytes),
        algo::bytes(out, static_cast<size_t>(count - head) * block_bytes)};
  };
  for (int d = 1; d < n; d <<= 1) {
    const int count = std::min(d, n - d);
    const Communicator::RecvParts mine = run_of(r, count);
    const int from = algo::ring(r, d, n);
    FB_TRY(comm.exchange(algo::ring(r, -d, n), {mine.part[0], mine.part[1]}, from, run_of(from, count)));
  }
  return {};
}

}  // namespace

FB_REGISTER_ALGORITHM(CollectiveKind::kAllGather, "bruck", &run, &scratch_bytes);

}  // namespace fb
