// Reduce-scatter, ring: n-1 steps. In step s rank r sends the partial reduction of block
// (r-s-1) to r+1 and receives the partial of block (r-s-2) from r-1, reducing its own input
// block (r-s-2) into it as each chunk lands; the last step (s = n-2) yields block r, complete.
// Step 0 sends straight from the input.
//
// Partials alternate between the output (one block) and the scratch block, arranged so that
// the last step lands in the output; a step never receives into the buffer it is sending from,
// and every step completes before the next starts.
//
// Matching: a rank only sends to r+1 and receives from r-1, one block per step in step order.
// Scratch: one block.
#include "algorithm_util.h"

namespace fb {
namespace {

size_t scratch_bytes(const CollectiveShape& shape) {
  return shape.ranks > 2 ? shape.block() * shape.element_bytes() : 0;
}

Status run(const Communicator& comm, const CollectiveShape& shape, const CollectiveBuffers& buffers) {
  FB_TRY(check_invocation(comm, shape, buffers, CollectiveKind::kReduceScatter, scratch_bytes(shape)));
  const int n = comm.size();
  const int r = comm.rank();
  const size_t block_bytes = shape.output_bytes();
  const std::byte* in = buffers.input.data();
  auto input_block = [&](int b) { return in + static_cast<size_t>(b) * block_bytes; };
  if (n == 1 || block_bytes == 0) return comm.copy(buffers.output.data(), in, block_bytes);

  const int next = algo::ring(r, 1, n);
  const int prev = algo::ring(r, -1, n);
  // Where step s receives: the output when (n-2-s) is even, else the scratch block.
  auto landing = [&](int s) {
    return algo::bytes((n - 2 - s) % 2 == 0 ? buffers.output.data() : buffers.scratch.data(), block_bytes);
  };
  for (int s = 0; s < n - 1; ++s) {
    const auto sending = s == 0 ? algo::bytes(input_block(algo::ring(r, -1, n)), block_bytes)
                                : std::span<const std::byte>(landing(s - 1));
    const auto target = landing(s);
    FB_TRY(comm.exchange(next, sending, prev, target,
                         {target.data(), target.data(), input_block(algo::ring(r, -s - 2, n)),
                          shape.dtype, shape.op}));
  }
  return {};
}

}  // namespace

FB_REGISTER_ALGORITHM(CollectiveKind::kReduceScatter, "ring", &run, &scratch_bytes);

}  // namespace fb
