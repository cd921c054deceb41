// All-reduce, recursive doubling: log2(n) steps in which partners v and v^mask swap their whole
// vectors and both reduce (latency-optimal: few steps, but every step moves everything).
//
// Non-power-of-two rank counts use the fold-in of algorithm_util.h: each extra rank (even, below
// 2*rem) first sends its whole input to its odd partner, which reduces it in; the pof2 virtual
// ranks run recursive doubling; then each odd partner sends the result back to its extra rank.
// Every rank ends with the same bits: a step computes a op b on one side and b op a on the
// other, and the operators are commutative.
//
// Matching: within the power-of-two part the partners v^1, v^2, v^4, ... are distinct, so an
// ordered pair of ranks carries at most one transfer per invocation; the fold-in pair carries
// one transfer each way (extra -> partner first, partner -> extra last). So there is never a
// second message on the same pair in one invocation for a receive to mistake.
// Scratch: the whole vector (each step receives everything while the output is still sent).
#include "algorithm_util.h"

namespace fb {
namespace {

size_t scratch_bytes(const CollectiveShape& shape) { return shape.ranks > 1 ? shape.output_bytes() : 0; }

Status run(const Communicator& comm, const CollectiveShape& shape, const CollectiveBuffers& buffers) {
  FB_TRY(check_invocation(comm, shape, buffers, CollectiveKind::kAllReduce, scratch_bytes(shape)));
  const size_t bytes = shape.output_bytes();
  std::byte* out = buffers.output.data();
  FB_TRY(comm.copy(out, buffers.input.data(), bytes));
  if (comm.size() == 1 || bytes == 0) return {};

  const algo::FoldedRanks folded(comm.rank(), comm.size());
  const auto whole = algo::bytes(out, bytes);
  const auto landing = algo::bytes(buffers.scratch.data(), bytes);
  const Communicator::ReduceEach into_output{out, out, landing.data(), shape.dtype, shape.op};
  if (folded.extra()) {
    FB_TRY(comm.send(folded.partner, whole));
    return comm.recv(folded.partner, whole);
  }
  if (folded.partner >= 0)
    FB_TRY(comm.exchange(Communicator::kNoPeer, {}, folded.partner, landing, into_output));
  for (int mask = 1; mask < folded.pof2; mask <<= 1) {
    const int peer = folded.real(folded.virtual_rank ^ mask);
    // The output is sent and reduced into in the same step: exchange() reduces chunk i only
    // after chunk i went out.
    FB_TRY(comm.exchange(peer, whole, peer, landing, into_output));
  }
  if (folded.partner >= 0) FB_TRY(comm.send(folded.partner, whole));
  return {};
}

}  // namespace

FB_REGISTER_ALGORITHM(CollectiveKind::kAllReduce, "recursive-doubling", &run, &scratch_bytes);

}  // namespace fb
