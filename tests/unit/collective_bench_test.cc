// The collective benchmark's pure parts: the command line, the record rank 0 builds from every
// rank's numbers, the automatic algorithm table and the values every rank fills and checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "collective/algorithm_choice.h"
#include "collective/collective_data.h"
#include "collective/collective_record.h"
#include "fabricbench/collectives/element_access.h"

namespace fb {
namespace {

using ::testing::HasSubstr;

ParsedCommandLine parse(std::vector<std::string> args) {
  args.insert(args.begin(), "fabricbench");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

TEST(CollectiveCli, AllreduceDefaults) {
  auto parsed = parse({"allreduce"});
  ASSERT_TRUE(parsed.command);
  const auto& plan = std::get<CollectivePlan>(*parsed.command);
  EXPECT_EQ(plan.kind, CollectiveKind::kAllReduce);
  EXPECT_EQ(plan.dtypes, std::vector<DataType>{DataType::kFloat32});
  EXPECT_EQ(plan.ops, std::vector<ReduceOp>{ReduceOp::kSum});
  EXPECT_EQ(plan.algorithms, std::vector<std::string>{"auto"});
  EXPECT_TRUE(plan.check);
  EXPECT_TRUE(plan.common.progress_auto);
  EXPECT_EQ(plan.common.sizes.front(), 8u);
  EXPECT_FALSE(plan.corruption);
}

TEST(CollectiveCli, ListsOfTypesOpsAndAlgorithms) {
  auto parsed = parse({"allreduce", "--dtype", "fp16,bf16,int32", "--op", "max,min", "--algo", "ring,mpi",
                       "--check", "off", "--chunk", "1M", "--inject-corruption", "1:17"});
  ASSERT_TRUE(parsed.command);
  const auto& plan = std::get<CollectivePlan>(*parsed.command);
  EXPECT_EQ(plan.dtypes, (std::vector<DataType>{DataType::kFloat16, DataType::kBFloat16, DataType::kInt32}));
  EXPECT_EQ(plan.ops, (std::vector<ReduceOp>{ReduceOp::kMax, ReduceOp::kMin}));
  EXPECT_EQ(plan.algorithms, (std::vector<std::string>{"ring", "mpi"}));
  EXPECT_FALSE(plan.check);
  EXPECT_EQ(plan.chunk_bytes, 1u << 20);
  ASSERT_TRUE(plan.corruption);
  EXPECT_EQ(plan.corruption->rank, 1);
  EXPECT_EQ(plan.corruption->index, 17u);
}

TEST(CollectiveCli, EveryCollectiveHasItsCommand) {
  for (const char* name : {"allgather", "reducescatter", "alltoall"}) {
    auto parsed = parse({name, "--algo", "all"});
    ASSERT_TRUE(parsed.command) << name;
    EXPECT_EQ(to_string(std::get<CollectivePlan>(*parsed.command).kind), name);
  }
}

TEST(CollectiveCli, BadValuesAreUsageErrors) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"allreduce", "--algo", "tree"},
           {"allgather", "--algo", "rabenseifner"},
           {"allreduce", "--dtype", "fp8"},
           {"allreduce", "--op", "prod"},
           {"allreduce", "--check", "maybe"},
           {"allreduce", "--chunk", "8"},
           {"allreduce", "--inject-corruption", "x:1"},
           {"allreduce", "--progress", "spin"},
       }) {
    auto parsed = parse(args);
    EXPECT_FALSE(parsed.command) << args[1] << " " << args[2];
    EXPECT_EQ(parsed.exit_code, 2) << args[1] << " " << args[2];
  }
}

TEST(CollectiveRecord, BusFactorsFollowNcclTests) {
  EXPECT_DOUBLE_EQ(bus_factor(CollectiveKind::kAllReduce, 4), 1.5);
  EXPECT_DOUBLE_EQ(bus_factor(CollectiveKind::kAllGather, 4), 0.75);
  EXPECT_DOUBLE_EQ(bus_factor(CollectiveKind::kReduceScatter, 8), 0.875);
  EXPECT_DOUBLE_EQ(bus_factor(CollectiveKind::kAllToAll, 2), 0.5);
  EXPECT_DOUBLE_EQ(bus_factor(CollectiveKind::kAllReduce, 1), 0);
}

CollectiveCase allreduce_case(int ranks, size_t count) {
  CollectiveCase c;
  c.shape = {CollectiveKind::kAllReduce, DataType::kFloat32, ReduceOp::kSum, ranks, count};
  c.identity.benchmark = "collective";
  c.identity.test = "allreduce";
  c.identity.ranks = ranks;
  c.identity.bytes = count * 4;
  c.identity.algorithm = "ring";
  c.bytes_requested = count * 4 + 3;
  return c;
}

CollectiveRankResult rank_result(int rank, uint64_t iterations, double elapsed_s, uint64_t wrong = 0) {
  CollectiveRankResult r;
  r.rank = rank;
  r.host = "h" + std::to_string(rank);
  r.iterations = iterations;
  r.elapsed_s = elapsed_s;
  r.checked = true;
  r.wrong = wrong;
  for (uint64_t i = 0; i < iterations; ++i) r.samples_us.push_back(elapsed_s * 1e6 / static_cast<double>(iterations));
  return r;
}

TEST(CollectiveRecord, TimeIsTheSlowestRanksMeanAndBandwidthFollows) {
  // 1 MB moved; rank 1 takes 2 ms per iteration, rank 0 1 ms.
  const auto c = allreduce_case(2, 250000);
  const Record r = build_collective_record(c, {rank_result(0, 10, 0.010), rank_result(1, 10, 0.020)});
  ASSERT_TRUE(r.collective);
  EXPECT_EQ(r.status, RecordStatus::kOk);
  EXPECT_EQ(r.collective->slowest_rank, 1);
  EXPECT_DOUBLE_EQ(r.collective->time_us, 2000);
  EXPECT_DOUBLE_EQ(r.collective->algbw_gbytes_per_s, 0.5);
  EXPECT_DOUBLE_EQ(r.collective->busbw_gbytes_per_s, 0.5);  // 2(n-1)/n = 1 for n = 2
  EXPECT_EQ(r.collective->count, 250000u);
  EXPECT_EQ(r.collective->bytes_requested, 1000003u);
  EXPECT_TRUE(r.collective->checked);
  EXPECT_EQ(r.iterations, 10u);
  ASSERT_EQ(r.per_rank.size(), 2u);
  EXPECT_EQ(r.per_rank[1].host, "h1");
  EXPECT_EQ(r.samples_us.size(), 10u);
  EXPECT_DOUBLE_EQ(r.latency_us.p50, 2000);
}

TEST(CollectiveRecord, AnyWrongElementFailsTheRecordNamingTheRanks) {
  const Record r = build_collective_record(allreduce_case(3, 300),
                                           {rank_result(0, 5, 0.001), rank_result(1, 5, 0.001, 1),
                                            rank_result(2, 5, 0.001, 2)});
  EXPECT_EQ(r.status, RecordStatus::kFailed);
  EXPECT_EQ(r.collective->wrong, 3u);
  EXPECT_THAT(r.reason, HasSubstr("3 wrong elements (ranks 1,2)"));
}

TEST(CollectiveRecord, UncheckedRunsSayWrongIsUnknown) {
  auto unchecked = rank_result(0, 5, 0.001);
  unchecked.checked = false;
  const Record r = build_collective_record(allreduce_case(2, 100), {unchecked, rank_result(1, 5, 0.001)});
  EXPECT_FALSE(r.collective->checked);
  EXPECT_EQ(r.status, RecordStatus::kOk);
}

TEST(CollectiveRecord, AFailedRankFailsTheRecordWithItsError) {
  auto broken = rank_result(1, 0, 0);
  broken.status = Status::error(StatusCode::kTimeout, "rank 0 did not answer", FB_HERE);
  const Record r = build_collective_record(allreduce_case(2, 100), {rank_result(0, 5, 0.001), broken});
  EXPECT_EQ(r.status, RecordStatus::kFailed);
  EXPECT_THAT(r.reason, HasSubstr("rank 1"));
  EXPECT_THAT(r.reason, HasSubstr("did not answer"));
}

TEST(CollectiveRecord, RankResultsSurviveTheWire) {
  auto r = rank_result(3, 7, 0.25, 2);
  r.status = Status::error(StatusCode::kDataCorruption, "bad", FB_HERE);
  const Bytes bytes = serialize(r);
  auto back = deserialize_collective_result(bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back.value().rank, 3);
  EXPECT_EQ(back.value().host, "h3");
  EXPECT_EQ(back.value().iterations, 7u);
  EXPECT_DOUBLE_EQ(back.value().elapsed_s, 0.25);
  EXPECT_EQ(back.value().wrong, 2u);
  EXPECT_EQ(back.value().samples_us, r.samples_us);
  EXPECT_EQ(back.value().status.code(), StatusCode::kDataCorruption);
  const Bytes truncated(bytes.begin(), bytes.end() - 1);
  EXPECT_EQ(deserialize_collective_result(truncated).status().code(), StatusCode::kProtocol);
}

TEST(AlgorithmChoice, EverySizeAndRankCountGetsARegisteredAlgorithm) {
  for (CollectiveKind kind : kAllCollectiveKinds)
    for (int ranks : {1, 2, 3, 4, 5, 8, 12, 1000})
      for (uint64_t bytes : {uint64_t{0}, uint64_t{8}, uint64_t{64} << 10, uint64_t{16} << 20, uint64_t{1} << 34}) {
        auto chosen = choose_algorithm(kind, ranks, bytes);
        ASSERT_TRUE(chosen.ok()) << to_string(kind) << " " << ranks << " " << bytes;
        EXPECT_EQ(chosen.value()->kind, kind);
      }
}

TEST(AlgorithmChoice, SmallAllReducesAreLatencyBoundLargeOnesRing) {
  EXPECT_EQ(choose_algorithm(CollectiveKind::kAllReduce, 4, 8).value()->name, "recursive-doubling");
  EXPECT_EQ(choose_algorithm(CollectiveKind::kAllReduce, 4, 64 << 20).value()->name, "ring");
  EXPECT_NE(choose_algorithm(CollectiveKind::kAllGather, 6, 1024).value()->name, "recursive-doubling");
}

// The exact result the checker expects equals the reduction of what the ranks put in.
TEST(CollectiveData, ExpectedOutputsFollowFromTheInputs) {
  for (CollectiveKind kind : kAllCollectiveKinds) {
    for (int ranks : {1, 3, 4}) {
      const CollectiveShape shape{kind, DataType::kFloat32, ReduceOp::kSum, ranks, size_t(ranks) * 5};
      auto data = CollectiveData::make(shape);
      ASSERT_TRUE(data.ok());
      const size_t block = shape.block();
      for (int r = 0; r < ranks; ++r) {
        for (size_t i = 0; i < shape.output_count(); ++i) {
          double want = 0;
          switch (kind) {
            case CollectiveKind::kAllReduce:
              for (int s = 0; s < ranks; ++s) want += data.value().input(s, i);
              break;
            case CollectiveKind::kReduceScatter:
              for (int s = 0; s < ranks; ++s) want += data.value().input(s, r * block + i);
              break;
            case CollectiveKind::kAllGather: want = data.value().input(int(i / block), i % block); break;
            case CollectiveKind::kAllToAll: want = data.value().input(int(i / block), r * block + i % block); break;
          }
          EXPECT_EQ(data.value().expected_output(r, i), want) << to_string(kind) << " rank " << r << " i " << i;
        }
      }
    }
  }
}

TEST(CollectiveData, ACorruptedInputChangesTheResult) {
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMax, ReduceOp::kMin}) {
    const CollectiveShape shape{CollectiveKind::kAllReduce, DataType::kBFloat16, op, 4, 64};
    auto data = CollectiveData::make(shape).value();
    double result = data.corrupted_input(2, 9);
    for (int s = 0; s < 4; ++s) {
      if (s == 2) continue;
      const double v = data.input(s, 9);
      result = op == ReduceOp::kSum ? result + v : op == ReduceOp::kMax ? std::max(result, v) : std::min(result, v);
    }
    EXPECT_NE(result, data.expected_output(0, 9)) << to_string(op);
    EXPECT_LE(std::abs(result), exact_integer_limit(DataType::kBFloat16)) << to_string(op);
  }
}

TEST(CollectiveData, FillAndCheckThroughHostMemory) {
  const CollectiveShape shape{CollectiveKind::kAllGather, DataType::kFloat16, ReduceOp::kSum, 3, 30};
  auto data = CollectiveData::make(shape).value();
  auto input = allocate_host(shape.input_bytes()).value();
  auto output = allocate_host(shape.output_bytes()).value();
  auto staging = allocate_host(shape.output_bytes()).value();
  ASSERT_TRUE(fill_input(data, shape, 1, input->span(), staging->span(), std::nullopt).ok());
  EXPECT_EQ(load_value(input->data(), 4, shape.dtype), data.input(1, 4));
  fill_values(output->data(), shape.output_count(), shape.dtype, [&](size_t i) { return data.expected_output(0, i); });
  EXPECT_EQ(count_wrong_output(data, shape, 0, output->span(), staging->span()).value(), 0u);
  store_value(output->data(), 7, shape.dtype, 252);
  EXPECT_EQ(count_wrong_output(data, shape, 0, output->span(), staging->span()).value(), 1u);
}

}  // namespace
}  // namespace fb
