#include "collective/algorithm_choice.h"

#include <string_view>

namespace fb {
namespace {

struct Rule {
  CollectiveKind kind;
  uint64_t up_to_bytes;  // this rule covers sizes <= up_to_bytes
  bool power_of_two_ranks_only;
  std::string_view algorithm;
};

constexpr uint64_t kAny = UINT64_MAX;

// First matching rule wins; every kind ends with a rule that matches any size and rank count.
// From scripts/compare-collectives.py over UCX shared memory, 2 and 4 ranks, 5 repetitions
// (medians; busbw GB/s, README "Performance"): all-reduce up to 4 KiB recursive doubling led at
// both rank counts (4 ranks, 4 KiB: 0.13 against ring 0.07), at 32 KiB ring and Rabenseifner
// led with 4 ranks (0.50, 0.42 against 0.29), at 256 KiB Rabenseifner (0.94 against ring 0.57),
// from 2 MiB ring (0.88 against 0.14: Rabenseifner's halving steps move whole halves at once).
// All-gather with 4 ranks: recursive doubling led at 4 KiB (0.09 against 0.07), ring from
// 32 KiB (0.51 against 0.21-0.23). With 2 ranks the algorithms are within noise of each other.
constexpr Rule kRules[] = {
    // Small messages are latency-bound: log2(n) steps beat ring's 2(n-1).
    {CollectiveKind::kAllReduce, 16 << 10, false, "recursive-doubling"},
    {CollectiveKind::kAllReduce, 1 << 20, true, "rabenseifner"},
    {CollectiveKind::kAllReduce, kAny, false, "ring"},
    {CollectiveKind::kAllGather, 8 << 10, true, "recursive-doubling"},
    {CollectiveKind::kAllGather, 8 << 10, false, "bruck"},
    {CollectiveKind::kAllGather, kAny, false, "ring"},
    {CollectiveKind::kReduceScatter, kAny, false, "ring"},
    {CollectiveKind::kAllToAll, kAny, false, "pairwise"},
};

bool is_power_of_two(int n) { return n > 0 && (n & (n - 1)) == 0; }

}  // namespace

Expected<const Algorithm*> choose_algorithm(CollectiveKind kind, int ranks, uint64_t bytes) {
  for (const Rule& rule : kRules) {
    if (rule.kind != kind || bytes > rule.up_to_bytes) continue;
    if (rule.power_of_two_ranks_only && !is_power_of_two(ranks)) continue;
    return find_algorithm(kind, rule.algorithm);
  }
  return Status::error(StatusCode::kInternal, "no automatic choice for " + std::string(to_string(kind)),
                       FB_HERE);
}

}  // namespace fb
