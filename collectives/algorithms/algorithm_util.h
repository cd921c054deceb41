// Small helpers shared by the algorithm files (private to collectives/algorithms/).
#pragma once

#include <bit>
#include <cstddef>
#include <span>

#include "fabricbench/collectives/algorithm.h"

namespace fb::algo {

inline std::span<const std::byte> bytes(const std::byte* data, size_t size) { return {data, size}; }
inline std::span<std::byte> bytes(std::byte* data, size_t size) { return {data, size}; }

// (rank + delta) mod n for any delta in (-n, n).
inline int ring(int rank, int delta, int n) { return ((rank + delta) % n + n) % n; }

inline bool is_power_of_two(int n) { return n > 0 && std::has_single_bit(static_cast<unsigned>(n)); }

// Power-of-two algorithms on any rank count, the usual way (MPICH, Thakur et al. 2005): with
// pof2 the largest power of two <= n and rem = n - pof2, ranks below 2*rem pair up as
// (2i, 2i+1). The even rank of a pair is an "extra": it hands its data to its odd partner,
// sits out the power-of-two part, and gets the result back at the end. The odd partner and
// every rank >= 2*rem take virtual ranks 0..pof2-1, in rank order:
//   virtual v < rem  is rank 2v+1 and stands for ranks {2v, 2v+1}
//   virtual v >= rem is rank v+rem and stands for itself
// so a run of consecutive virtual ranks stands for a run of consecutive real ranks, which is
// what lets all-gather exchange contiguous block ranges.
struct FoldedRanks {
  int pof2;
  int rem;
  int virtual_rank;  // -1 for an extra rank
  int partner;       // the pair's other rank below 2*rem, else -1

  explicit FoldedRanks(int rank, int n)
      : pof2(static_cast<int>(std::bit_floor(static_cast<unsigned>(n)))), rem(n - pof2) {
    if (rank < 2 * rem) {
      const bool extra = rank % 2 == 0;
      virtual_rank = extra ? -1 : rank / 2;
      partner = extra ? rank + 1 : rank - 1;
    } else {
      virtual_rank = rank - rem;
      partner = -1;
    }
  }
  bool extra() const { return virtual_rank < 0; }
  int real(int v) const { return v < rem ? 2 * v + 1 : v + rem; }
  // The first real rank (block) virtual rank v stands for; first_block(pof2) == n.
  int first_block(int v) const { return v < rem ? 2 * v : v + rem; }
};

}  // namespace fb::algo
