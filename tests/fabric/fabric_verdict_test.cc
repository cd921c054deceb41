#include "sweep/fabric_verdict.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "results/fabric_json.h"

namespace fb {
namespace {

std::vector<std::string> hosts4() { return {"h0", "h1", "h2", "h3"}; }

// Every pair at 100 Gb/s with a little deterministic spread, host 2's pairs at `slow`.
HostMatrix fabric_with_slow_host(double slow) {
  HostMatrix m = empty_matrix(4);
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b)
      if (a != b) m[a][b] = (a == 2 || b == 2) ? slow : 100 - a - b;
  return m;
}

TEST(FabricVerdict, MatrixValueSplitsBibwAndReadsLatencyP50) {
  Record r;
  r.id.test = "bw";
  r.bandwidth.gbits_per_s = 80;
  EXPECT_DOUBLE_EQ(matrix_value(r), 80);
  r.id.test = "bibw";
  EXPECT_DOUBLE_EQ(matrix_value(r), 40);
  r.id.test = "latency";
  r.latency_us.p50 = 2.5;
  EXPECT_DOUBLE_EQ(matrix_value(r), 2.5);
  r.status = RecordStatus::kFailed;
  EXPECT_TRUE(std::isnan(matrix_value(r)));
}

TEST(FabricVerdict, ConfirmedHostLinkKeepsItsRetestEvidence) {
  FabricPlan plan;
  const HostMatrix first = fabric_with_slow_host(25);
  auto report = analyze_matrix(hosts4(), first, plan, nullptr);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->suspects.size(), 1u);
  const auto pairs = pairs_to_retest(*report, hosts4());
  EXPECT_EQ(pairs, (std::vector<HostPair>{{0, 2}, {1, 2}, {2, 3}}));

  const HostMatrix retest = fabric_with_slow_host(27);  // still slow
  HostMatrix only_retested = empty_matrix(4);
  for (auto [a, b] : pairs) only_retested[a][b] = only_retested[b][a] = retest[a][b];
  auto final_report = analyze_matrix(hosts4(), merge_retest(first, only_retested), plan, nullptr);
  ASSERT_TRUE(final_report.ok());
  FabricSummary summary;
  summary.hosts = hosts4();
  fill_verdict(summary, *final_report, plan, &*report, &only_retested);
  ASSERT_EQ(summary.suspects.size(), 1u);
  EXPECT_EQ(summary.suspects[0].kind, "host-link");
  EXPECT_EQ(summary.suspects[0].subject, "h2");
  ASSERT_TRUE(summary.suspects[0].evidence[0].retest_gbits.has_value());
  EXPECT_DOUBLE_EQ(*summary.suspects[0].evidence[0].retest_gbits, 27);
  EXPECT_TRUE(summary.cleared.empty());
  EXPECT_TRUE(summary.retested);
}

TEST(FabricVerdict, SlowOnceHealthyOnRetestIsCleared) {
  FabricPlan plan;
  HostMatrix first = fabric_with_slow_host(98);  // healthy fabric ...
  first[0][1] = 30;                              // ... with one slow measurement
  auto report = analyze_matrix(hosts4(), first, plan, nullptr);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->suspects.size(), 1u);
  EXPECT_EQ(report->suspects[0].kind, SuspectKind::kPath);
  HostMatrix retest = empty_matrix(4);
  retest[0][1] = 97;
  retest[1][0] = 96;
  auto final_report = analyze_matrix(hosts4(), merge_retest(first, retest), plan, nullptr);
  ASSERT_TRUE(final_report.ok());
  FabricSummary summary;
  summary.hosts = hosts4();
  fill_verdict(summary, *final_report, plan, &*report, &retest);
  EXPECT_TRUE(summary.suspects.empty());
  ASSERT_EQ(summary.cleared.size(), 1u);
  EXPECT_EQ(summary.cleared[0].subject, "h0<->h1");
  EXPECT_DOUBLE_EQ(*summary.cleared[0].evidence[0].retest_gbits, 97);
}

TEST(FabricVerdict, MergeKeepsTheBetterOfTwoMeasurements) {
  HostMatrix first = empty_matrix(2), retest = empty_matrix(2);
  first[0][1] = 10;
  first[1][0] = 50;
  retest[0][1] = 40;
  retest[1][0] = 20;
  const HostMatrix merged = merge_retest(first, retest);
  EXPECT_DOUBLE_EQ(merged[0][1], 40);
  EXPECT_DOUBLE_EQ(merged[1][0], 50);
  EXPECT_TRUE(std::isnan(merged[0][0]));
}

TEST(FabricJson, SummaryRoundTripsWithNullsForUnmeasuredCells) {
  FabricSummary f;
  f.test = "bw";
  f.bytes = 1 << 20;
  f.metric = "gbits_per_s";
  f.hosts = hosts4();
  f.matrix = fabric_with_slow_host(25);
  f.rounds = 6;
  f.elapsed_s = 1.5;
  f.retested = true;
  f.analysis = FabricAnalysis{90, 2, 80, 100.0, 0.9, 12, 6};
  f.suspects = {{"host-link", "h2", 0.9, {{"h0", "h2", 25, 90, 95, 26.0}}}};
  const nlohmann::json j = to_json(f);
  EXPECT_TRUE(j["matrix"][0][0].is_null());
  auto back = fabric_from_json(nlohmann::json::parse(j.dump()), "fabric");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->suspects, f.suspects);
  EXPECT_EQ(back->analysis, f.analysis);
  EXPECT_EQ(back->hosts, f.hosts);
  EXPECT_DOUBLE_EQ(back->matrix[0][2], 25);
  EXPECT_TRUE(std::isnan(back->matrix[1][1]));
  auto broken = fabric_from_json(nlohmann::json{{"test", "bw"}}, "fabric");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("fabric"), std::string::npos);
}

}  // namespace
}  // namespace fb
