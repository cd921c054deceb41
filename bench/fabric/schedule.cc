#include "fabric/schedule.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <string>

namespace fb {
namespace {

HostPair ordered(int a, int b) { return a < b ? HostPair{a, b} : HostPair{b, a}; }

// splitmix64: std::shuffle and the std distributions differ between standard libraries, and a
// sampled sweep must pick the same pairs on every host that computes it.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound); the modulo bias is negligible for host counts.
  size_t below(size_t bound) { return static_cast<size_t>(next() % bound); }
};

template <typename T>
void shuffle(std::vector<T>& items, SplitMix64& rng) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

}  // namespace

std::vector<PairRound> tournament_rounds(int hosts) {
  std::vector<PairRound> rounds;
  if (hosts < 2) return rounds;
  // Odd n: a phantom host makes the count even; whoever meets it sits the round out.
  const int slots = hosts % 2 == 0 ? hosts : hosts + 1;
  const int rotating = slots - 1;  // host slots-1 stays fixed, the others rotate
  rounds.reserve(rotating);
  for (int r = 0; r < rotating; ++r) {
    PairRound round;
    round.reserve(slots / 2);
    for (int i = 0; i < slots / 2; ++i) {
      const int a = (r + i) % rotating;
      const int b = i == 0 ? slots - 1 : (r - i + rotating) % rotating;
      if (a < hosts && b < hosts) round.push_back(ordered(a, b));
    }
    rounds.push_back(std::move(round));
  }
  return rounds;
}

std::vector<PairRound> directed_rounds(const std::vector<PairRound>& undirected) {
  std::vector<PairRound> rounds;
  rounds.reserve(undirected.size() * 2);
  for (const PairRound& round : undirected) {
    PairRound reversed;
    reversed.reserve(round.size());
    for (const auto& [a, b] : round) reversed.emplace_back(b, a);
    rounds.push_back(round);
    rounds.push_back(std::move(reversed));
  }
  return rounds;
}

std::vector<PairRound> directed_rounds(int hosts) {
  return directed_rounds(tournament_rounds(hosts));
}

Expected<std::vector<HostPair>> sample_pairs(int hosts, int count, uint64_t seed) {
  if (hosts < 2) {
    return Status::error(StatusCode::kInvalidArgument,
                         "sampling pairs needs at least 2 hosts, got " + std::to_string(hosts),
                         FB_HERE);
  }
  const int64_t all = int64_t{hosts} * (hosts - 1) / 2;
  if (count < 0 || count > all) {
    return Status::error(StatusCode::kInvalidArgument,
                         "cannot sample " + std::to_string(count) + " pairs from " +
                             std::to_string(hosts) + " hosts (" + std::to_string(all) +
                             " pairs exist)",
                         FB_HERE);
  }
  SplitMix64 rng{seed};
  std::vector<int> label(hosts);
  std::iota(label.begin(), label.end(), 0);
  shuffle(label, rng);
  std::vector<PairRound> rounds = tournament_rounds(hosts);
  shuffle(rounds, rng);

  std::vector<HostPair> pairs;
  pairs.reserve(count);
  for (PairRound& round : rounds) {
    if (static_cast<int>(pairs.size()) == count) break;
    // The last, partial round takes a random part of itself, not always the same slots.
    shuffle(round, rng);
    for (const auto& [a, b] : round) {
      if (static_cast<int>(pairs.size()) == count) break;
      pairs.push_back(ordered(label[a], label[b]));
    }
  }
  return pairs;
}

Expected<std::vector<PairRound>> pack_rounds(int hosts, const std::vector<HostPair>& pairs) {
  std::set<HostPair> seen;
  // busy[r][h]: host h already has a pair in round r.
  std::vector<std::vector<bool>> busy;
  std::vector<PairRound> rounds;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto [a, b] = pairs[i];
    const std::string where = "pair " + std::to_string(i) + " (" + std::to_string(a) + ", " +
                              std::to_string(b) + ")";
    if (a < 0 || b < 0 || a >= hosts || b >= hosts) {
      return Status::error(StatusCode::kInvalidArgument,
                           where + ": host outside 0.." + std::to_string(hosts - 1), FB_HERE);
    }
    if (a == b) {
      return Status::error(StatusCode::kInvalidArgument, where + ": a host paired with itself",
                           FB_HERE);
    }
    if (!seen.insert(ordered(a, b)).second) {
      return Status::error(StatusCode::kInvalidArgument, where + ": listed twice", FB_HERE);
    }
    size_t r = 0;
    while (r < rounds.size() && (busy[r][a] || busy[r][b])) ++r;
    if (r == rounds.size()) {
      rounds.emplace_back();
      busy.emplace_back(hosts, false);
    }
    rounds[r].push_back(pairs[i]);
    busy[r][a] = busy[r][b] = true;
  }
  return rounds;
}

}  // namespace fb
