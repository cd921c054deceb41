#include "fabric/fairness.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "runner/stats.h"

namespace fb {
namespace {

TEST(JainIndex, HandComputedCases) {
  EXPECT_DOUBLE_EQ(jain_index(std::vector<double>{5, 5, 5, 5}).value(), 1.0);
  EXPECT_DOUBLE_EQ(jain_index(std::vector<double>{7}).value(), 1.0);
  // One of four senders takes everything: 1/n.
  EXPECT_DOUBLE_EQ(jain_index(std::vector<double>{10, 0, 0, 0}).value(), 0.25);
  // (1+2+3)^2 / (3 * (1+4+9)) = 36/42.
  EXPECT_DOUBLE_EQ(jain_index(std::vector<double>{1, 2, 3}).value(), 36.0 / 42.0);
  // (3+1)^2 / (2 * (9+1)) = 0.8.
  EXPECT_DOUBLE_EQ(jain_index(std::vector<double>{3, 1}).value(), 0.8);
  // Units cancel: scaling every share changes nothing.
  EXPECT_DOUBLE_EQ(jain_index(std::vector<double>{3e9, 1e9}).value(), 0.8);
  EXPECT_DOUBLE_EQ(jain_index(std::vector<double>{0, 0, 0}).value(), 1.0);
}

TEST(JainIndex, RejectsWhatWasNotMeasured) {
  EXPECT_EQ(jain_index(std::vector<double>{}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(jain_index(std::vector<double>{1, -1}).status().code(), StatusCode::kInvalidArgument);
  const auto nan = jain_index(std::vector<double>{1, std::numeric_limits<double>::quiet_NaN()});
  EXPECT_EQ(nan.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(nan.status().message().find("input 1"), std::string::npos);
  EXPECT_FALSE(jain_index(std::vector<double>{std::numeric_limits<double>::infinity()}).ok());
}

// Incast completion times go through the same nearest-rank summary as every latency, so p50 and
// p99 are times a sender actually took.
TEST(IncastCompletion, PercentilesAreObservedCompletionTimes) {
  // Eight senders' completion times (ms); nearest rank: p50 = 4th smallest, p99 = 8th.
  const LatencySummary s = summarize({12, 10, 11, 30, 10, 13, 11, 12});
  EXPECT_EQ(s.p50, 11);
  EXPECT_EQ(s.p99, 30);
  EXPECT_EQ(s.min, 10);
  EXPECT_EQ(s.max, 30);
  // 100 senders 1..100 ms: p50 = 50, p99 = 99.
  std::vector<double> hundred(100);
  for (int i = 0; i < 100; ++i) hundred[i] = i + 1;
  const LatencySummary h = summarize(hundred);
  EXPECT_EQ(h.p50, 50);
  EXPECT_EQ(h.p99, 99);
}

}  // namespace
}  // namespace fb
