#include "fabric/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace fb {
namespace {

void expect_disjoint(const std::vector<PairRound>& rounds, int hosts) {
  for (size_t r = 0; r < rounds.size(); ++r) {
    std::vector<int> uses(hosts, 0);
    for (const auto& [a, b] : rounds[r]) {
      ASSERT_GE(a, 0);
      ASSERT_LT(a, hosts);
      ASSERT_GE(b, 0);
      ASSERT_LT(b, hosts);
      ASSERT_NE(a, b);
      ++uses[a];
      ++uses[b];
    }
    for (int h = 0; h < hosts; ++h) EXPECT_LE(uses[h], 1) << "host " << h << " round " << r;
  }
}

TEST(TournamentRounds, EveryUnorderedPairOnceInDisjointRounds) {
  for (int n = 1; n <= 33; ++n) {
    SCOPED_TRACE("hosts " + std::to_string(n));
    const std::vector<PairRound> rounds = tournament_rounds(n);
    const size_t want_rounds = n < 2 ? 0 : (n % 2 == 0 ? n - 1 : n);
    ASSERT_EQ(rounds.size(), want_rounds);
    expect_disjoint(rounds, n);
    std::set<HostPair> seen;
    for (const PairRound& round : rounds) {
      EXPECT_EQ(round.size(), static_cast<size_t>(n / 2));
      for (const auto& [a, b] : round) {
        EXPECT_LT(a, b);
        EXPECT_TRUE(seen.insert({a, b}).second) << a << "-" << b << " twice";
      }
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(n * (n - 1) / 2));
  }
}

TEST(TournamentRounds, OddCountsIdleEachHostExactlyOnce) {
  for (int n = 3; n <= 33; n += 2) {
    std::vector<int> idle(n, 0);
    for (const PairRound& round : tournament_rounds(n)) {
      std::vector<bool> busy(n, false);
      for (const auto& [a, b] : round) busy[a] = busy[b] = true;
      ASSERT_EQ(std::count(busy.begin(), busy.end(), false), 1);
      ++idle[std::find(busy.begin(), busy.end(), false) - busy.begin()];
    }
    EXPECT_EQ(std::count(idle.begin(), idle.end(), 1), n) << "hosts " << n;
  }
}

TEST(DirectedRounds, EveryOrderedPairOnceEachDirectionInItsOwnRound) {
  for (int n = 1; n <= 33; ++n) {
    SCOPED_TRACE("hosts " + std::to_string(n));
    const std::vector<PairRound> rounds = directed_rounds(n);
    ASSERT_EQ(rounds.size(), 2 * tournament_rounds(n).size());
    expect_disjoint(rounds, n);
    std::set<HostPair> seen;
    for (size_t r = 0; r < rounds.size(); ++r) {
      for (const HostPair& p : rounds[r]) EXPECT_TRUE(seen.insert(p).second);
      if (r % 2 == 1) {  // a->b, then b->a in the next round
        ASSERT_EQ(rounds[r].size(), rounds[r - 1].size());
        for (size_t i = 0; i < rounds[r].size(); ++i) {
          EXPECT_EQ(rounds[r][i], HostPair(rounds[r - 1][i].second, rounds[r - 1][i].first));
        }
      }
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(n * (n - 1)));
  }
}

TEST(SamplePairs, DistinctSpreadAndDeterministic) {
  for (const int n : {2, 5, 16, 33, 1000}) {
    const int all = n * (n - 1) / 2;
    for (const int wanted : {0, 1, n / 2, n, 3 * n + 1, 5000}) {
      const int k = std::min(all, wanted);
      SCOPED_TRACE("hosts " + std::to_string(n) + " pairs " + std::to_string(k));
      auto pairs = sample_pairs(n, k, 42);
      ASSERT_TRUE(pairs.ok()) << pairs.status().to_string();
      ASSERT_EQ(pairs->size(), static_cast<size_t>(k));
      std::set<HostPair> seen;
      std::vector<int> degree(n, 0);
      for (const auto& [a, b] : *pairs) {
        ASSERT_LT(a, b);
        ASSERT_GE(a, 0);
        ASSERT_LT(b, n);
        EXPECT_TRUE(seen.insert({a, b}).second);
        ++degree[a];
        ++degree[b];
      }
      const auto [lo, hi] = std::minmax_element(degree.begin(), degree.end());
      EXPECT_LE(*hi - *lo, 2);
      auto again = sample_pairs(n, k, 42);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*pairs, *again);
    }
  }
}

TEST(SamplePairs, SeedsChooseDifferentPairsAndAllPairsIsComplete) {
  auto a = sample_pairs(64, 40, 1);
  auto b = sample_pairs(64, 40, 2);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  auto every = sample_pairs(9, 36, 7);
  ASSERT_TRUE(every.ok());
  EXPECT_EQ(std::set<HostPair>(every->begin(), every->end()).size(), 36u);
}

TEST(SamplePairs, RejectsImpossibleRequests) {
  EXPECT_EQ(sample_pairs(1, 0, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sample_pairs(4, 7, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sample_pairs(4, -1, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(sample_pairs(4, 7, 0).status().message().find("6 pairs exist"), std::string::npos);
}

TEST(PackRounds, SampledPairsPackIntoDisjointRounds) {
  auto pairs = sample_pairs(32, 100, 3);
  ASSERT_TRUE(pairs.ok());
  auto rounds = pack_rounds(32, *pairs);
  ASSERT_TRUE(rounds.ok()) << rounds.status().to_string();
  expect_disjoint(*rounds, 32);
  size_t total = 0;
  for (const PairRound& r : *rounds) total += r.size();
  EXPECT_EQ(total, 100u);
  // Whole tournament rounds of 16 pairs: 100 pairs fit in ceil(100 / 16) = 7 rounds.
  EXPECT_EQ(rounds->size(), 7u);
}

TEST(PackRounds, GreedyInListOrder) {
  auto rounds = pack_rounds(4, {{0, 1}, {1, 2}, {2, 3}, {0, 3}});
  ASSERT_TRUE(rounds.ok());
  ASSERT_EQ(rounds->size(), 2u);
  EXPECT_EQ((*rounds)[0], (PairRound{{0, 1}, {2, 3}}));
  EXPECT_EQ((*rounds)[1], (PairRound{{1, 2}, {0, 3}}));
}

TEST(PackRounds, RejectsBadPairs) {
  EXPECT_EQ(pack_rounds(4, {{0, 4}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pack_rounds(4, {{-1, 2}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pack_rounds(4, {{2, 2}}).status().code(), StatusCode::kInvalidArgument);
  const auto repeated = pack_rounds(4, {{0, 1}, {1, 0}});
  EXPECT_EQ(repeated.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(repeated.status().message().find("pair 1 (1, 0): listed twice"), std::string::npos);
}

}  // namespace
}  // namespace fb
