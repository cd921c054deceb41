// All-reduce, ring: a reduce-scatter around the ring, then an all-gather around it (Patarasuk
// and Yuan; what NCCL's ring does). 2(n-1) steps, each moving one block to the next rank;
// bandwidth-optimal, latency linear in n.
//
// Reduce-scatter step s (0..n-2): send block (r-s) to r+1; receive block (r-s-1) from r-1 into
// scratch and reduce it into the output chunk by chunk as it lands. Afterwards rank r holds
// the full reduction of block (r+1). All-gather step s: send block (r+1-s) to r+1, receive
// block (r-s) from r-1 straight into the output.
//
// Matching: a rank only sends to r+1 and receives from r-1, one block-sized transfer per step
// in step order on both sides (for n = 2 the two directions are separate ordered pairs).
// Scratch: one block.
#include "algorithm_util.h"

namespace fb {
namespace {

size_t scratch_bytes(const CollectiveShape& shape) {
  return shape.ranks > 1 ? shape.block() * shape.element_bytes() : 0;
}

Status run(const Communicator& comm, const CollectiveShape& shape, const CollectiveBuffers& buffers) {
  FB_TRY(check_invocation(comm, shape, buffers, CollectiveKind::kAllReduce, scratch_bytes(shape)));
  const int n = comm.size();
  const int r = comm.rank();
  const size_t block_bytes = shape.block() * shape.element_bytes();
  std::byte* out = buffers.output.data();
  FB_TRY(comm.copy(out, buffers.input.data(), shape.input_bytes()));
  if (n == 1 || block_bytes == 0) return {};

  auto block = [&](int b) { return out + static_cast<size_t>(b) * block_bytes; };
  const int next = algo::ring(r, 1, n);
  const int prev = algo::ring(r, -1, n);
  const auto landing = algo::bytes(buffers.scratch.data(), block_bytes);
  for (int s = 0; s < n - 1; ++s) {
    std::byte* target = block(algo::ring(r, -s - 1, n));
    FB_TRY(comm.exchange(next, algo::bytes(block(algo::ring(r, -s, n)), block_bytes), prev, landing,
                         {target, target, landing.data(), shape.dtype, shape.op}));
  }
  for (int s = 0; s < n - 1; ++s)
    FB_TRY(comm.exchange(next, algo::bytes(block(algo::ring(r, 1 - s, n)), block_bytes), prev,
                         algo::bytes(block(algo::ring(r, -s, n)), block_bytes)));
  return {};
}

}  // namespace

FB_REGISTER_ALGORITHM(CollectiveKind::kAllReduce, "ring", &run, &scratch_bytes);

}  // namespace fb
