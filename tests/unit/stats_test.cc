#include "runner/stats.h"

#include <gtest/gtest.h>

#include <numeric>

namespace fb {
namespace {

TEST(Percentile, NearestRankOnHandComputedCases) {
  // Nearest rank: the ceil(p/100 * N)-th smallest value.
  const std::vector<double> five{15, 20, 35, 40, 50};
  EXPECT_EQ(percentile_nearest_rank(five, 5), 15);
  EXPECT_EQ(percentile_nearest_rank(five, 30), 20);
  EXPECT_EQ(percentile_nearest_rank(five, 40), 20);
  EXPECT_EQ(percentile_nearest_rank(five, 50), 35);
  EXPECT_EQ(percentile_nearest_rank(five, 100), 50);
  EXPECT_EQ(percentile_nearest_rank(five, 0), 15);

  const std::vector<double> ten{3, 6, 7, 8, 8, 10, 13, 15, 16, 20};
  EXPECT_EQ(percentile_nearest_rank(ten, 25), 7);
  EXPECT_EQ(percentile_nearest_rank(ten, 50), 8);
  EXPECT_EQ(percentile_nearest_rank(ten, 75), 15);
  EXPECT_EQ(percentile_nearest_rank(ten, 90), 16);
}

TEST(Percentile, P999NeedsOneThousandSamplesToDifferFromMax) {
  std::vector<double> values(1000);
  std::iota(values.begin(), values.end(), 1.0);  // 1..1000
  EXPECT_EQ(percentile_nearest_rank(values, 99.9), 999);
  EXPECT_EQ(percentile_nearest_rank(values, 99), 990);
  EXPECT_EQ(percentile_nearest_rank(values, 50), 500);
  values.resize(100);
  EXPECT_EQ(percentile_nearest_rank(values, 99.9), 100);
}

TEST(Summarize, UnsortedInput) {
  const LatencySummary s = summarize({5, 1, 4, 2, 3});
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 5);
  EXPECT_EQ(s.p50, 3);
  EXPECT_EQ(s.p90, 5);
  EXPECT_DOUBLE_EQ(s.mean, 3);
}

TEST(Summarize, EmptyIsAllZero) {
  const LatencySummary s = summarize({});
  EXPECT_EQ(s.max, 0);
  EXPECT_EQ(s.mean, 0);
}

TEST(Bandwidth, DecimalUnits) {
  const Bandwidth b = bandwidth_from(2e9, 2.0);
  EXPECT_DOUBLE_EQ(b.gbytes_per_s, 1.0);
  EXPECT_DOUBLE_EQ(b.gbits_per_s, 8.0);
  EXPECT_EQ(bandwidth_from(1, 0).gbytes_per_s, 0);
}

}  // namespace
}  // namespace fb
