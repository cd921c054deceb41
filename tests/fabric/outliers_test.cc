#include "fabric/outliers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace fb {
namespace {

constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();

// Appending, rather than name("h", i), sidesteps GCC 12's false -Wrestrict.
std::string name(const char* prefix, int index) {
  std::string s(prefix);
  s += std::to_string(index);
  return s;
}

// A fabric of n hosts h0..h{n-1}; bandwidth(from, to) fills every ordered pair.
template <typename F>
OutlierInput fabric(int n, F bandwidth) {
  OutlierInput in;
  in.gbps.assign(n, std::vector<double>(n, kNotMeasured));
  for (int i = 0; i < n; ++i) {
    in.hosts.push_back(name("h", i));
    for (int j = 0; j < n; ++j) {
      if (i != j) in.gbps[i][j] = bandwidth(i, j);
    }
  }
  return in;
}

// Deterministic noise in [-amplitude, amplitude], different for every ordered pair.
double noise(int i, int j, double amplitude) {
  const unsigned h = static_cast<unsigned>(i * 7919 + j * 104729) * 2654435761u;
  return amplitude * (2.0 * (h % 1001) / 1000.0 - 1.0);
}

OutlierReport analyze(const OutlierInput& in) {
  auto report = analyze_outliers(in);
  EXPECT_TRUE(report.ok()) << report.status().to_string();
  return report.ok() ? *report : OutlierReport{};
}

void expect_sane_confidence(const OutlierReport& r) {
  for (const Suspect& s : r.suspects) {
    EXPECT_GT(s.confidence, 0) << s.subject;
    EXPECT_LE(s.confidence, 1) << s.subject;
    EXPECT_FALSE(s.evidence.empty()) << s.subject;
  }
}

TEST(Outliers, HealthyFabricHasNoSuspects) {
  const OutlierReport r = analyze(fabric(8, [](int, int) { return 95.0; }));
  EXPECT_EQ(r.measured_pairs, 56);
  EXPECT_EQ(r.slow_pairs, 0);
  EXPECT_TRUE(r.suspects.empty());
  EXPECT_DOUBLE_EQ(r.median_gbps, 95);
  EXPECT_DOUBLE_EQ(r.deviation_gbps, 0);
  // MAD = 0: the floor (5 % of the median, times k = 3) sets the threshold.
  EXPECT_NEAR(r.slow_below_gbps, 95 * 0.85, 1e-9);
}

TEST(Outliers, NoiseWithinTheSpreadIsNotASuspect) {
  for (const double amplitude : {2.0, 8.0, 15.0}) {
    const OutlierReport r =
        analyze(fabric(12, [&](int i, int j) { return 95.0 + noise(i, j, amplitude); }));
    EXPECT_TRUE(r.suspects.empty()) << "noise +-" << amplitude;
  }
}

TEST(Outliers, OneBadHostInAFourHostFabric) {
  // The lab's case: the bad host touches half of all ordered pairs.
  const OutlierReport r = analyze(fabric(4, [](int i, int j) {
    return i == 2 || j == 2 ? 30.0 : 95.0 + noise(i, j, 1);
  }));
  ASSERT_EQ(r.suspects.size(), 1u);
  const Suspect& s = r.suspects[0];
  EXPECT_EQ(s.kind, SuspectKind::kHostLink);
  EXPECT_EQ(to_string(s.kind), "host-link");
  EXPECT_EQ(s.subject, "h2");
  EXPECT_EQ(s.evidence.size(), 6u);
  for (const PairEvidence& e : s.evidence) {
    EXPECT_TRUE(e.from == "h2" || e.to == "h2");
    EXPECT_EQ(e.measured_gbps, 30);
    EXPECT_NEAR(e.median_gbps, 95, 1);
    EXPECT_TRUE(std::isnan(e.expected_gbps));
  }
  EXPECT_GT(s.confidence, 0.8);
}

TEST(Outliers, StalledHealthyPairsDoNotHideABadHost) {
  // A 4-host lab run (Gbit/s): h2's link is shaped to a quarter, and two healthy pairs
  // stalled (h0->h3 at 0.083, h1->h2 even lower). The per-host medians put the reference
  // between the groups and the spread grew until the threshold went negative; the cap on
  // sigma keeps a quarter of the reference slow.
  OutlierInput in;
  in.hosts = {"h0", "h1", "h2", "h3"};
  in.gbps = {{kNotMeasured, 0.192, 0.047, 0.083},
             {0.189, kNotMeasured, 0.045, 0.191},
             {0.048, 0.047, kNotMeasured, 0.048},
             {0.191, 0.186, 0.048, kNotMeasured}};
  const OutlierReport r = analyze(in);
  EXPECT_GT(r.slow_below_gbps, 0.7 * r.median_gbps - 1e-12);
  ASSERT_FALSE(r.suspects.empty());
  EXPECT_EQ(r.suspects[0].kind, SuspectKind::kHostLink);
  EXPECT_EQ(r.suspects[0].subject, "h2");
}

TEST(Outliers, BadHostWhoseLinkIsSlowInOneDirectionOnly) {
  // A degraded transmit side: h5's sends are slow, its receives healthy. Half its pairs: a path
  // per peer would be noise in the report, but nothing reaches 75 %, so they stay paths.
  const OutlierReport both = analyze(fabric(10, [](int i, int j) {
    return i == 5 || j == 5 ? 20.0 : 95.0;
  }));
  ASSERT_EQ(both.suspects.size(), 1u);
  EXPECT_EQ(both.suspects[0].subject, "h5");
  EXPECT_EQ(both.suspects[0].evidence.size(), 18u);

  // Nearly all: 16 of 18 pairs slow is still the host.
  const OutlierReport nearly = analyze(fabric(10, [](int i, int j) {
    if (i == 5 && j == 0) return 95.0;
    if (i == 0 && j == 5) return 95.0;
    return i == 5 || j == 5 ? 20.0 : 95.0;
  }));
  ASSERT_EQ(nearly.suspects.size(), 1u);
  EXPECT_EQ(nearly.suspects[0].kind, SuspectKind::kHostLink);
  EXPECT_EQ(nearly.suspects[0].evidence.size(), 16u);
}

TEST(Outliers, OneBadPairIsAPath) {
  const OutlierReport r = analyze(fabric(8, [](int i, int j) {
    return (i == 1 && j == 6) || (i == 6 && j == 1) ? 40.0 : 95.0 + noise(i, j, 2);
  }));
  ASSERT_EQ(r.suspects.size(), 1u);
  EXPECT_EQ(r.suspects[0].kind, SuspectKind::kPath);
  EXPECT_EQ(r.suspects[0].subject, "h1<->h6");
  EXPECT_EQ(r.suspects[0].evidence.size(), 2u);
  EXPECT_DOUBLE_EQ(r.suspects[0].confidence, 0.8);

  const OutlierReport one_way = analyze(fabric(8, [](int i, int j) {
    return i == 6 && j == 1 ? 40.0 : 95.0;
  }));
  ASSERT_EQ(one_way.suspects.size(), 1u);
  EXPECT_EQ(one_way.suspects[0].subject, "h1<->h6");
  ASSERT_EQ(one_way.suspects[0].evidence.size(), 1u);
  EXPECT_EQ(one_way.suspects[0].evidence[0].from, "h6");
  EXPECT_EQ(one_way.suspects[0].evidence[0].to, "h1");
  EXPECT_LT(one_way.suspects[0].confidence, r.suspects[0].confidence);
}

TEST(Outliers, BadHostAndUnrelatedBadPairAreReportedSeparately) {
  const OutlierReport r = analyze(fabric(8, [](int i, int j) {
    if (i == 0 || j == 0) return 25.0;
    if ((i == 3 && j == 4) || (i == 4 && j == 3)) return 50.0;
    return 95.0;
  }));
  expect_sane_confidence(r);
  ASSERT_EQ(r.suspects.size(), 2u);
  EXPECT_EQ(r.suspects[0].kind, SuspectKind::kHostLink);
  EXPECT_EQ(r.suspects[0].subject, "h0");
  EXPECT_EQ(r.suspects[1].kind, SuspectKind::kPath);
  EXPECT_EQ(r.suspects[1].subject, "h3<->h4");
}

TEST(Outliers, ExpectedRateAndRelativeBoundMustBothBeMissed) {
  OutlierInput in = fabric(6, [](int i, int j) {
    if (i == 0 && j == 1) return 85.0;  // below 0.9 x 100 but within the fabric's spread
    if (i == 2 && j == 3) return 60.0;  // below both
    return 95.0;
  });
  in.expected_gbps = 100;
  in.efficiency = 0.9;
  const OutlierReport r = analyze(in);
  EXPECT_DOUBLE_EQ(r.slow_below_gbps, 95 * 0.85);
  ASSERT_EQ(r.suspects.size(), 1u);
  EXPECT_EQ(r.suspects[0].subject, "h2<->h3");
  EXPECT_DOUBLE_EQ(r.suspects[0].evidence[0].expected_gbps, 90);

  // A low expected rate lowers the bar below the relative bound.
  in.expected_gbps = 50;
  const OutlierReport low = analyze(in);
  EXPECT_DOUBLE_EQ(low.slow_below_gbps, 45);
  EXPECT_TRUE(low.suspects.empty());
}

TEST(Outliers, TwoHostsGiveNoReferenceToBeSlowAgainst) {
  // A pair must miss both bounds; with one pair the fabric's median is that pair, so even an
  // expected rate far above it names nothing (the report's median shows the shortfall).
  OutlierInput in = fabric(2, [](int, int) { return 20.0; });
  EXPECT_TRUE(analyze(in).suspects.empty());
  in.expected_gbps = 100;
  const OutlierReport r = analyze(in);
  EXPECT_TRUE(r.suspects.empty());
  EXPECT_DOUBLE_EQ(r.median_gbps, 20);
}

TEST(Outliers, OnePeerCannotBlameAHost) {
  // h0's only measured peer is h1: a slow pair there is a path, not h0's link.
  OutlierInput in = fabric(5, [](int i, int j) { return i + j == 1 ? 30.0 : 95.0; });
  for (int j = 2; j < 5; ++j) in.gbps[0][j] = in.gbps[j][0] = kNotMeasured;
  const OutlierReport r = analyze(in);
  ASSERT_EQ(r.suspects.size(), 1u);
  EXPECT_EQ(r.suspects[0].kind, SuspectKind::kPath);
  EXPECT_EQ(r.suspects[0].subject, "h0<->h1");
}

TEST(Outliers, MissingEntriesAreSkipped) {
  OutlierInput in = fabric(6, [](int i, int j) { return i == 3 || j == 3 ? 30.0 : 95.0; });
  in.gbps[0][3] = kNotMeasured;
  in.gbps[1][2] = kNotMeasured;
  for (int j = 0; j < 6; ++j) in.gbps[5][j] = kNotMeasured;  // h5 never sent
  in.gbps[4][4] = 0;  // the diagonal is ignored, whatever it holds
  const OutlierReport r = analyze(in);
  EXPECT_EQ(r.measured_pairs, 30 - 2 - 5);
  ASSERT_EQ(r.suspects.size(), 1u);
  EXPECT_EQ(r.suspects[0].subject, "h3");
  EXPECT_EQ(r.suspects[0].evidence.size(), 8u);

  const OutlierReport none = analyze(fabric(3, [](int, int) { return kNotMeasured; }));
  EXPECT_EQ(none.measured_pairs, 0);
  EXPECT_TRUE(none.suspects.empty());
  EXPECT_TRUE(analyze(OutlierInput{}).suspects.empty());
}

// Hosts h0..h{leaves*per_leaf-1}, leaf k = "leaf<k>", leaves spread over `spines`.
Topology leaves_of(int leaves, int per_leaf, int spines) {
  Topology t;
  for (int h = 0; h < leaves * per_leaf; ++h) {
    t.leaf_of_host[name("h", h)] = name("leaf", h / per_leaf);
  }
  for (int l = 0; l < leaves; ++l) {
    t.spine_of_leaf[name("leaf", l)] = name("spine", l * spines / leaves);
  }
  return t;
}

TEST(Outliers, BadLeafUplinkIsNamedInsteadOfItsHosts) {
  // Three leaves of three hosts; leaf1's uplink is slow, its hosts fine among themselves.
  const Topology topo = leaves_of(3, 3, 1);
  OutlierInput in = fabric(9, [](int i, int j) {
    const bool cross_leaf1 = (i / 3 == 1) != (j / 3 == 1);
    return cross_leaf1 ? 45.0 : 95.0 + noise(i, j, 2);
  });
  in.topology = &topo;
  const OutlierReport r = analyze(in);
  ASSERT_EQ(r.suspects.size(), 1u);
  EXPECT_EQ(r.suspects[0].kind, SuspectKind::kLeafUplink);
  EXPECT_EQ(to_string(r.suspects[0].kind), "leaf-uplink");
  EXPECT_EQ(r.suspects[0].subject, "leaf1");
  EXPECT_EQ(r.suspects[0].evidence.size(), 36u);  // 3 x 6 pairs, both directions
  EXPECT_DOUBLE_EQ(r.suspects[0].confidence, 1.0);

  // Without the topology the same matrix blames leaf1's three hosts (12 of 16 pairs each).
  in.topology = nullptr;
  const OutlierReport blind = analyze(in);
  ASSERT_EQ(blind.suspects.size(), 3u);
  for (const Suspect& s : blind.suspects) EXPECT_EQ(s.kind, SuspectKind::kHostLink);
}

TEST(Outliers, BadHostBehindALeafIsStillAHost) {
  const Topology topo = leaves_of(3, 3, 1);
  OutlierInput in = fabric(9, [](int i, int j) { return i == 4 || j == 4 ? 30.0 : 95.0; });
  in.topology = &topo;
  const OutlierReport r = analyze(in);
  ASSERT_EQ(r.suspects.size(), 1u);
  EXPECT_EQ(r.suspects[0].kind, SuspectKind::kHostLink);
  EXPECT_EQ(r.suspects[0].subject, "h4");
}

TEST(Outliers, TwoLeavesLeaveTheUplinkAmbiguous) {
  // Six hosts on leaf0, three on leaf1; every pair between the leaves is slow.
  Topology topo;
  for (int h = 0; h < 9; ++h) topo.leaf_of_host[name("h", h)] = h < 6 ? "leaf0" : "leaf1";
  OutlierInput in = fabric(9, [](int i, int j) { return (i < 6) != (j < 6) ? 40.0 : 95.0; });
  in.topology = &topo;
  const OutlierReport r = analyze(in);
  ASSERT_EQ(r.suspects.size(), 2u);
  for (const Suspect& s : r.suspects) {
    EXPECT_EQ(s.kind, SuspectKind::kLeafUplink);
    EXPECT_DOUBLE_EQ(s.confidence, 0.5);
    EXPECT_EQ(s.evidence.size(), 36u);
  }
  EXPECT_NE(r.suspects[0].subject, r.suspects[1].subject);
}

TEST(Outliers, SpineWhoseLeavesAllLookCutOffIsTheSuspect) {
  // Six leaves of two hosts, two leaves per spine; spine0 is bad: every pair that crosses
  // leaves and touches leaf0 or leaf1 is slow.
  const Topology topo = leaves_of(6, 2, 3);
  OutlierInput in = fabric(12, [](int i, int j) {
    const int li = i / 2;
    const int lj = j / 2;
    return li != lj && (li < 2 || lj < 2) ? 35.0 : 95.0 + noise(i, j, 1);
  });
  in.topology = &topo;
  const OutlierReport r = analyze(in);
  expect_sane_confidence(r);
  ASSERT_EQ(r.suspects.size(), 1u);
  EXPECT_EQ(r.suspects[0].kind, SuspectKind::kSpine);
  EXPECT_EQ(to_string(r.suspects[0].kind), "spine");
  EXPECT_EQ(r.suspects[0].subject, "spine0");
  // leaf0<->leaf1 (8) plus both leaves to the other 8 hosts (2 x 2 x 8 x 2 = 64).
  EXPECT_EQ(r.suspects[0].evidence.size(), 72u);
}

TEST(Outliers, HostsMissingFromTheTopologyAreLeftOutOfUplinks) {
  Topology topo = leaves_of(3, 3, 1);
  topo.leaf_of_host.erase("h8");
  OutlierInput in = fabric(9, [](int i, int j) {
    return (i / 3 == 1) != (j / 3 == 1) ? 45.0 : 95.0;
  });
  in.topology = &topo;
  const OutlierReport r = analyze(in);
  ASSERT_FALSE(r.suspects.empty());
  EXPECT_EQ(r.suspects[0].subject, "leaf1");
  // h8's slow pairs with leaf1 are not the uplink's evidence; they remain as paths.
  for (size_t k = 1; k < r.suspects.size(); ++k) {
    EXPECT_EQ(r.suspects[k].kind, SuspectKind::kPath);
    EXPECT_NE(r.suspects[k].subject.find("h8"), std::string::npos);
  }
}

TEST(Outliers, RejectsMalformedInput) {
  OutlierInput in = fabric(3, [](int, int) { return 10.0; });
  in.gbps[1].pop_back();
  EXPECT_EQ(analyze_outliers(in).status().code(), StatusCode::kInvalidArgument);
  in = fabric(3, [](int, int) { return 10.0; });
  in.hosts[2] = "h0";
  EXPECT_NE(analyze_outliers(in).status().message().find("'h0' twice"), std::string::npos);
  in = fabric(3, [](int, int) { return 10.0; });
  in.gbps[0][1] = -1;
  EXPECT_NE(analyze_outliers(in).status().message().find("h0->h1"), std::string::npos);
  in = fabric(3, [](int, int) { return 10.0; });
  in.efficiency = 1.5;
  EXPECT_FALSE(analyze_outliers(in).ok());
  in.efficiency = 0.9;
  in.expected_gbps = 0;
  EXPECT_FALSE(analyze_outliers(in).ok());
  in.expected_gbps.reset();
  in.gbps.pop_back();
  EXPECT_FALSE(analyze_outliers(in).ok());
}

}  // namespace
}  // namespace fb
