// All-gather, ring: n-1 steps; in step s rank r sends block (r-s) to r+1 and receives block
// (r-s-1) from r-1, straight into the output (what NCCL's ring does).
//
// Matching: a rank only sends to r+1 and receives from r-1, one block per step in step order.
// Scratch: none.
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
  auto block = [&](int b) { return algo::bytes(out + static_cast<size_t>(b) * block_bytes, block_bytes); };
  FB_TRY(comm.copy(block(r).data(), buffers.input.data(), block_bytes));
  if (n == 1 || block_bytes == 0) return {};

  const int next = algo::ring(r, 1, n);
  const int prev = algo::ring(r, -1, n);
  for (int s = 0; s < n - 1; ++s)
    FB_TRY(comm.exchange(next, block(algo::ring(r, -s, n)), prev, block(algo::ring(r, -s - 1, n))));
  return {};
}

}  // namespace

FB_REGISTER_ALGORITHM(CollectiveKind::kAllGather, "ring", &run, &scratch_bytes);

}  // namespace fb
