#include "runner/soak.h"

#include <gtest/gtest.h>

#include <vector>

namespace fb {
namespace {

SoakSummary soak_of(const std::vector<double>& samples, double bytes_per_sample, bool latency = false,
                    double time_per_sample = 1) {
  return summarize_soak({samples, time_per_sample, bytes_per_sample, latency}, SoakPlan{1.0, 0.8});
}

TEST(Soak, CutsSamplesIntoIntervalsAndFindsTheDip) {
  // 100 ms windows of 100 MB: 1 GB/s, except the third second: two windows of 500 ms.
  std::vector<double> samples;
  for (int s = 0; s < 5; ++s)
    for (int i = 0; i < (s == 2 ? 2 : 10); ++i) samples.push_back(s == 2 ? 500'000 : 100'000);
  samples.resize(samples.size() - 1);  // the last interval is 0.9 s: kept on its own
  const SoakSummary soak = soak_of(samples, 1e8);
  ASSERT_EQ(soak.intervals.size(), 5u);
  EXPECT_EQ(soak.metric, "bandwidth");
  EXPECT_NEAR(soak.intervals[0].bandwidth.gbytes_per_s, 1.0, 1e-9);
  EXPECT_NEAR(soak.intervals[2].bandwidth.gbytes_per_s, 0.2, 1e-9);
  EXPECT_NEAR(soak.intervals[2].start_s, 2.0, 1e-9);
  EXPECT_EQ(soak.worst, 2);
  EXPECT_EQ(soak.low_count, 1);
  EXPECT_TRUE(soak.intervals[2].low);
  EXPECT_FALSE(soak.intervals[4].low);
  EXPECT_EQ(soak.intervals[4].samples, 9u);
}

TEST(Soak, ShortTailJoinsThePreviousInterval) {
  std::vector<double> samples(23, 100'000);  // 2.3 s of 100 ms samples
  const SoakSummary soak = soak_of(samples, 1e6);
  ASSERT_EQ(soak.intervals.size(), 2u);
  EXPECT_EQ(soak.intervals[1].samples, 13u);
  EXPECT_NEAR(soak.intervals[1].duration_s, 1.3, 1e-9);
}

TEST(Soak, LatencyIntervalsAreJudgedOnP50AndPingPongCountsDouble) {
  // Half round trips of 1 ms: each stands for 2 ms of wall time, so 500 per second. The
  // second interval starts with 150 samples three times slower (0.9 s of it).
  std::vector<double> samples(1700, 1000);
  for (int i = 500; i < 650; ++i) samples[i] = 3000;
  const SoakSummary soak = soak_of(samples, 8, true, 2);
  EXPECT_EQ(soak.metric, "latency_p50");
  ASSERT_GE(soak.intervals.size(), 3u);
  EXPECT_EQ(soak.intervals[0].samples, 500u);
  EXPECT_TRUE(soak.intervals[1].low);
  EXPECT_EQ(soak.worst, 1);
  EXPECT_DOUBLE_EQ(soak.intervals[1].latency_us.p50, 3000);
}

TEST(Soak, SteadyRunHasNoLowIntervalsAndNoSamplesNoIntervals) {
  const SoakSummary steady = soak_of(std::vector<double>(50, 100'000), 1e6);
  EXPECT_EQ(steady.low_count, 0);
  EXPECT_EQ(steady.intervals.size(), 5u);
  const SoakSummary none = soak_of({}, 1e6);
  EXPECT_TRUE(none.intervals.empty());
  EXPECT_EQ(none.worst, -1);
}

}  // namespace
}  // namespace fb
