// The point-to-point benchmark end to end over the loopback transport, ranks as threads.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "bootstrap/thread_bootstrap.h"
#include "p2p/p2p.h"

namespace fb {
namespace {

class CollectingSink final : public RecordSink {
 public:
  Status add(const Record& record) override {
    std::lock_guard lock(mutex_);
    records.push_back(record);
    return {};
  }
  std::mutex mutex_;
  std::vector<Record> records;
};

std::vector<Status> run_ranks(const P2pPlan& plan, int np, CollectingSink& sink) {
  auto group = std::make_shared<ThreadGroup>(np);
  std::vector<Status> statuses(np);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < np; ++rank)
    threads.emplace_back([&, rank] {
      ThreadBootstrap bootstrap(group, rank);
      bootstrap.set_timeout(std::chrono::seconds(20));
      statuses[rank] = run_p2p_rank(plan, bootstrap, rank == 0 ? &sink : nullptr);
    });
  for (auto& t : threads) t.join();
  return statuses;
}

P2pPlan loopback_plan(std::vector<P2pTest> tests, P2pOp op) {
  P2pPlan plan;
  plan.common.transport = "loopback";
  plan.common.sizes = {0, 1, 8, 4096, 65536};
  plan.common.iterations = 20;
  plan.common.warmup_override = 2;
  plan.common.transport_options.timeout = std::chrono::seconds(20);
  plan.tests = std::move(tests);
  plan.op = op;
  plan.window = 4;
  return plan;
}

struct Case {
  P2pOp op;
};

class P2pOverLoopback : public testing::TestWithParam<P2pOp> {};

TEST_P(P2pOverLoopback, EveryTestProducesOneRecordPerSize) {
  const P2pPlan plan = loopback_plan({P2pTest::kLatency, P2pTest::kBw, P2pTest::kBibw, P2pTest::kMsgrate}, GetParam());
  CollectingSink sink;
  for (const Status& s : run_ranks(plan, 2, sink)) ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(sink.records.size(), 4 * plan.common.sizes.size());
  for (const Record& r : sink.records) {
    SCOPED_TRACE(r.id.test + " " + std::to_string(r.id.bytes));
    EXPECT_EQ(r.id.transport, "loopback");
    EXPECT_EQ(r.id.op, to_string(GetParam()));
    if (r.status == RecordStatus::kSkipped) {
      EXPECT_EQ(r.id.bytes, 0u);  // put latency needs a byte to poll
      EXPECT_FALSE(r.reason.empty());
      continue;
    }
    ASSERT_EQ(r.status, RecordStatus::kOk) << r.reason;
    EXPECT_EQ(r.iterations, 20u);
    EXPECT_EQ(r.per_rank.size(), 2u);
    EXPECT_GT(r.latency_us.max, 0);
    EXPECT_LE(r.latency_us.min, r.latency_us.p50);
    EXPECT_LE(r.latency_us.p50, r.latency_us.p99);
    EXPECT_LE(r.latency_us.p99, r.latency_us.max);
    EXPECT_EQ(r.samples_us.size(), 20u);
    if (r.id.bytes > 0) {
      EXPECT_GT(r.bandwidth.gbytes_per_s, 0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, P2pOverLoopback, testing::Values(P2pOp::kSend, P2pOp::kPut, P2pOp::kGet),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(P2pLoopback, FourRanksRunTwoPairs) {
  P2pPlan plan = loopback_plan({P2pTest::kBw}, P2pOp::kSend);
  CollectingSink sink;
  for (const Status& s : run_ranks(plan, 4, sink)) ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(sink.records.size(), plan.common.sizes.size());
  EXPECT_EQ(sink.records.back().per_rank.size(), 4u);
  EXPECT_EQ(sink.records.back().id.ranks, 4);
}

TEST(P2pLoopback, DurationBoundsTheRun) {
  P2pPlan plan = loopback_plan({P2pTest::kLatency}, P2pOp::kSend);
  plan.common.sizes = {8};
  plan.common.iterations.reset();
  plan.common.duration_s = 0.2;
  plan.common.warmup_override = 50;
  CollectingSink sink;
  const auto start = std::chrono::steady_clock::now();
  for (const Status& s : run_ranks(plan, 2, sink)) ASSERT_TRUE(s.ok()) << s.to_string();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_GT(sink.records[0].iterations, 1u);
  EXPECT_LT(took, 20.0);
}

TEST(P2pLoopback, OddRankCountIsRefused) {
  P2pPlan plan = loopback_plan({P2pTest::kLatency}, P2pOp::kSend);
  CollectingSink sink;
  auto statuses = run_ranks(plan, 3, sink);
  EXPECT_EQ(statuses[0].code(), StatusCode::kInvalidArgument);
  EXPECT_NE(statuses[0].to_string().find("even"), std::string::npos);
}

}  // namespace
}  // namespace fb
