// All-gather, recursive doubling: log2(n) steps; in the step with distance mask, virtual
// partners v and v^mask swap everything they hold so far (the blocks of virtual ranks
// [v & ~(mask-1), +mask)), so what a rank holds doubles each step.
//
// Non-power-of-two rank counts use the fold-in of algorithm_util.h rather than a fallback: each
// extra rank first sends its block to its odd partner, so virtual rank v holds the blocks of
// real ranks [first_block(v), first_block(v+1)); consecutive virtual ranks stand for
// consecutive real ranks, so every exchange is still one contiguous range of the output, just
// of uneven size. At the end each odd partner sends the whole gathered output to its extra rank
// (as two ranges around the extra rank's own block, which it already has). Cost for
// non-powers of two: two more steps, one of them moving (n-1)/n of the output.
//
// Matching: the partners v^1, v^2, ... differ per step, so an ordered pair of ranks carries at
// most one transfer per invocation; the fold-in pair carries one each way (extra -> partner
// before the doubling, partner -> extra after it). Both sides compute the same ranges.
// Scratch: none; everything lands in the output.
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
  auto blocks = [&](int first, int end) {
    return algo::bytes(out + static_cast<size_t>(first) * block_bytes,
                       static_cast<size_t>(end - first) * block_bytes);
  };
  FB_TRY(comm.copy(blocks(r, r + 1).data(), buffers.input.data(), block_bytes));
  if (n == 1 || block_bytes == 0) return {};

  const algo::FoldedRanks folded(r, n);
  if (folded.extra()) {
    FB_TRY(comm.send(folded.partner, blocks(r, r + 1)));
    return comm.recv(folded.partner, {blocks(0, r), blocks(r + 1, n)});
  }
  if (folded.partner >= 0) FB_TRY(comm.recv(folded.partner, blocks(folded.partner, folded.partner + 1)));
  const int v = folded.virtual_rank;
  for (int mask = 1; mask < folded.pof2; mask <<= 1) {
    const int peer_v = v ^ mask;
    const int mine = v & ~(mask - 1);
    const int theirs = peer_v & ~(mask - 1);
    FB_TRY(comm.exchange(folded.real(peer_v),
                         blocks(folded.first_block(mine), folded.first_block(mine + mask)),
                         folded.real(peer_v),
                         blocks(folded.first_block(theirs), folded.first_block(theirs + mask))));
  }
  if (folded.partner >= 0)
    FB_TRY(comm.send(folded.partner, {blocks(0, folded.partner), blocks(folded.partner + 1, n)}));
  return {};
}

}  // namespace

FB_REGISTER_ALGORITHM(CollectiveKind::kAllGather, "recursive-doubling", &run, &scratch_bytes);

}  // namespace fb
