// All-reduce, Rabenseifner: a reduce-scatter by recursive halving, then an all-gather by
// recursive doubling (Rabenseifner 2004; MPICH's "reduce_scatter_allgather"). 2*log2(n) steps
// moving 2(n-1)/n of the vector in all: ring's bandwidth with recursive doubling's step count.
//
// The vector is cut into pof2 virtual blocks (count/pof2 elements, the first count%pof2 one
// more). Halving step j (mask = 1, 2, 4, ...) splits the range a rank is responsible for in two:
// the partner v^mask with bit j clear keeps the lower half, the other the upper; each sends the
// half it gives up and reduces the half it keeps. After log2(pof2) steps virtual rank v holds
// one fully reduced virtual block (index bit-reversed v). The all-gather retraces the steps in
// reverse, each rank sending what it holds and receiving its partner's half.
// Non-power-of-two rank counts use the fold-in of algorithm_util.h around all of this.
//
// Matching: virtual partners v^mask differ per step, so an ordered pair carries exactly two
// transfers (its halving step, then the same step of the all-gather), posted in that order on
// both sides; the fold-in pair carries one each way. Both sides compute the same ranges.
// Scratch: the larger half of the vector; the whole vector when ranks are folded in.
#include <array>
#include <utility>

#include "algorithm_util.h"

namespace fb {
namespace {

// Element offset of virtual block i, for i in [0, pof2].
size_t virtual_offset(size_t count, int pof2, int i) {
  const size_t base = count / static_cast<size_t>(pof2);
  const size_t extra = count % static_cast<size_t>(pof2);
  const auto index = static_cast<size_t>(i);
  return index * base + std::min(index, extra);
}

size_t scratch_bytes(const CollectiveShape& shape) {
  if (shape.ranks <= 1) return 0;
  const algo::FoldedRanks folded(0, shape.ranks);
  if (folded.rem > 0) return shape.output_bytes();
  return virtual_offset(shape.count, folded.pof2, folded.pof2 / 2) * shape.element_bytes();
}

Status run(const Communicator& comm, const CollectiveShape& shape, const CollectiveBuffers& buffers) {
  FB_TRY(check_invocation(comm, shape, buffers, CollectiveKind::kAllReduce, scratch_bytes(shape)));
  const size_t bytes = shape.output_bytes();
  std::byte* out = buffers.output.data();
  std::byte* scratch = buffers.scratch.data();
  FB_TRY(comm.copy(out, buffers.input.data(), bytes));
  if (comm.size() == 1 || bytes == 0) return {};

  const algo::FoldedRanks folded(comm.rank(), comm.size());
  const auto whole = algo::bytes(out, bytes);
  if (folded.extra()) {
    FB_TRY(comm.send(folded.partner, whole));
    return comm.recv(folded.partner, whole);
  }
  if (folded.partner >= 0)
    FB_TRY(comm.exchange(Communicator::kNoPeer, {}, folded.partner, algo::bytes(scratch, bytes),
                         {out, out, scratch, shape.dtype, shape.op}));

  const int pof2 = folded.pof2;
  const int v = folded.virtual_rank;
  const size_t esize = shape.element_bytes();
  auto at = [&](int i) { return out + virtual_offset(shape.count, pof2, i) * esize; };
  auto range = [&](std::pair<int, int> r) {
    return algo::bytes(at(r.first), static_cast<size_t>(at(r.second) - at(r.first)));
  };

  // kept[j]: the virtual blocks this rank is responsible for after halving step j.
  std::array<std::pair<int, int>, 32> kept{};
  int steps = 0;
  std::pair<int, int> mine{0, pof2};
  for (int mask = 1; mask < pof2; mask <<= 1, ++steps) {
    const int peer = folded.real(v ^ mask);
    const int mid = mine.first + (mine.second - mine.first) / 2;
    const bool lower = (v & mask) == 0;
    const std::pair<int, int> keep = lower ? std::pair{mine.first, mid} : std::pair{mid, mine.second};
    const std::pair<int, int> give = lower ? std::pair{mid, mine.second} : std::pair{mine.first, mid};
    const auto kept_bytes = range(keep);
    FB_TRY(comm.exchange(peer, range(give), peer, algo::bytes(scratch, kept_bytes.size()),
                         {kept_bytes.data(), kept_bytes.data(), scratch, shape.dtype, shape.op}));
    kept[static_cast<size_t>(steps)] = mine = keep;
  }
  for (int j = steps - 1; j >= 0; --j) {
    const int peer = folded.real(v ^ (1 << j));
    const std::pair<int, int> parent = j == 0 ? std::pair{0, pof2} : kept[static_cast<size_t>(j - 1)];
    const std::pair<int, int> held = kept[static_cast<size_t>(j)];
    const std::pair<int, int> theirs = held.first == parent.first ? std::pair{held.second, parent.second}
                                                                   : std::pair{parent.first, held.first};
    FB_TRY(comm.exchange(peer, range(held), peer, range(theirs)));
  }
  if (folded.partner >= 0) FB_TRY(comm.send(folded.partner, whole));
  return {};
}

}  // namespace

FB_REGISTER_ALGORITHM(CollectiveKind::kAllReduce, "rabenseifner", &run, &scratch_bytes);

}  // namespace fb
