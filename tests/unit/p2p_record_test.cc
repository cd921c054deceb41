#include "p2p/p2p_record.h"

#include <gtest/gtest.h>

namespace fb {
namespace {

RankResult result(int rank, std::vector<double> samples, double elapsed, uint64_t bytes, uint64_t messages) {
  RankResult r;
  r.rank = rank;
  r.host = "h";
  r.role = rank % 2 == 0 ? "initiator" : "responder";
  r.peer = rank ^ 1;
  r.measurement.samples_us = std::move(samples);
  r.measurement.iterations = r.measurement.samples_us.size();
  r.measurement.elapsed_s = elapsed;
  r.measurement.bytes_sent = bytes;
  r.measurement.messages = messages;
  return r;
}

RecordIdentity identity(std::string test, uint64_t bytes) {
  RecordIdentity id;
  id.benchmark = "p2p";
  id.test = std::move(test);
  id.op = "send";
  id.transport = "loopback";
  id.ranks = 2;
  id.bytes = bytes;
  return id;
}

TEST(P2pRecord, LatencyFromInitiatorSamples) {
  const Record r = build_p2p_record(identity("latency", 1000),
                                    64, {result(0, {1, 2, 3, 4}, 1, 4000, 4), result(1, {}, 1, 4000, 4)});
  EXPECT_EQ(r.status, RecordStatus::kOk);
  EXPECT_EQ(r.latency_us.p50, 2);
  EXPECT_EQ(r.latency_us.max, 4);
  EXPECT_DOUBLE_EQ(r.latency_us.mean, 2.5);
  // One message of 1000 bytes per 2.5 us one-way.
  EXPECT_NEAR(r.msg_rate, 400000, 1e-6);
  EXPECT_NEAR(r.bandwidth.gbytes_per_s, 0.4, 1e-12);
  EXPECT_EQ(r.window, 0);
  EXPECT_EQ(r.per_rank.size(), 2u);
  EXPECT_EQ(r.samples_us.size(), 4u);
  EXPECT_EQ(r.samples_total, 4u);
}

TEST(P2pRecord, BandwidthAddsPairsAndUsesSlowerSide) {
  // Pair 0: 1e9 bytes in 1 s (responder took 2 s: the pair counts 2 s); pair 1: 1e9 in 1 s.
  const Record r = build_p2p_record(identity("bw", 1 << 20), 64,
                                    {result(0, {10}, 1, 1'000'000'000, 1000), result(1, {}, 2, 0, 0),
                                     result(2, {10}, 1, 1'000'000'000, 1000), result(3, {}, 1, 0, 0)});
  EXPECT_NEAR(r.bandwidth.gbytes_per_s, 0.5 + 1.0, 1e-12);
  EXPECT_NEAR(r.bandwidth.gbits_per_s, 12.0, 1e-12);
  EXPECT_NEAR(r.msg_rate, 500 + 1000, 1e-9);
  EXPECT_EQ(r.window, 64);
}

TEST(P2pRecord, BidirectionalCountsBothDirections) {
  const Record r = build_p2p_record(identity("bibw", 8), 1,
                                    {result(0, {1}, 1, 1'000'000'000, 10), result(1, {1}, 1, 1'000'000'000, 10)});
  EXPECT_NEAR(r.bandwidth.gbytes_per_s, 2.0, 1e-12);
}

TEST(P2pRecord, AnyRankFailureFailsTheRecord) {
  RankResult bad = result(1, {}, 0, 0, 0);
  bad.status = Status::error(StatusCode::kTimeout, "peer silent", FB_HERE);
  const Record r = build_p2p_record(identity("latency", 8), 1, {result(0, {1}, 1, 8, 1), bad});
  EXPECT_EQ(r.status, RecordStatus::kFailed);
  EXPECT_EQ(r.reason, "peer silent");
}

TEST(P2pRecord, SamplesAreCappedButCounted) {
  std::vector<double> many(kRecordSampleCap + 5, 1.0);
  const Record r = build_p2p_record(identity("latency", 8), 1, {result(0, many, 1, 8, 1), result(1, {}, 1, 8, 1)});
  EXPECT_EQ(r.samples_us.size(), kRecordSampleCap);
  EXPECT_EQ(r.samples_total, kRecordSampleCap + 5);
  EXPECT_EQ(r.samples_cap, kRecordSampleCap);
}

TEST(P2pRecord, RankResultRoundTrip) {
  RankResult r = result(3, {1.5, 2.5}, 0.25, 100, 2);
  r.status = Status::error(StatusCode::kTimeout, "late", FB_HERE);
  r.measurement.sample_unit = "unit";
  auto back = deserialize_rank_result(serialize(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->rank, 3);
  EXPECT_EQ(back->measurement.samples_us, r.measurement.samples_us);
  EXPECT_EQ(back->measurement.sample_unit, "unit");
  EXPECT_FALSE(back->status.ok());
  EXPECT_EQ(back->status.to_string(), "late");
  const std::string junk = "{not json";
  EXPECT_FALSE(deserialize_rank_result(ByteSpan(reinterpret_cast<const std::byte*>(junk.data()), junk.size())).ok());
}

}  // namespace
}  // namespace fb
