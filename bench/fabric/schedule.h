// Which host pairs a fabric sweep measures, and in which rounds. A round is a set of disjoint
// pairs, so every pair in it can run at once without two transfers sharing a host's link.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "fabricbench/transport/status.h"

namespace fb {

// Host indices 0..n-1. In a directed round the pair is (sender, receiver).
using HostPair = std::pair<int, int>;
using PairRound = std::vector<HostPair>;

// Round-robin tournament by the circle method: every unordered pair exactly once, no host twice
// in a round; n-1 rounds of n/2 pairs for even n, n rounds of (n-1)/2 pairs (one host idle)
// for odd n. Pairs are written (lower, higher). No rounds for n < 2.
std::vector<PairRound> tournament_rounds(int hosts);

// For one-directional tests: each tournament round becomes two rounds, a->b and then b->a, so
// every ordered pair is measured exactly once and a host still sends at most one stream.
std::vector<PairRound> directed_rounds(int hosts);
std::vector<PairRound> directed_rounds(const std::vector<PairRound>& undirected);

// `count` distinct unordered pairs for fabrics too large for all pairs. Deterministic for a
// given (hosts, count, seed) on every platform. The pairs are whole tournament rounds of a
// seeded relabelling (plus part of one more), so each host appears in about the same number of
// pairs: the per-host counts differ by at most 2. Returned in round order, (lower, higher).
Expected<std::vector<HostPair>> sample_pairs(int hosts, int count, uint64_t seed);

// Packs an arbitrary pair list (sampled, or from the user) into rounds of disjoint pairs,
// greedily in list order. Rejects hosts outside [0, hosts), self-pairs and repeated pairs
// (a and b in either order count as the same pair).
Expected<std::vector<PairRound>> pack_rounds(int hosts, const std::vector<HostPair>& pairs);

}  // namespace fb
