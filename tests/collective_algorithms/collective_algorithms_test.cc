// The collective algorithms over real transports with ranks as threads: every registered
// algorithm x data type x operator x count (0, one element per block, a few, several chunks),
// in and out of place, checked element by element; a corrupted input must make exactly the
// predicted outputs wrong; invalid invocations are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "collective_matrix.h"
#include "harness.h"

namespace fb::collective_tests {
namespace {

using Names = std::set<std::pair<CollectiveKind, std::string>>;

TEST(CollectiveRegistry, HoldsEveryAlgorithm) {
  Names registered;
  for (const Algorithm* a : AlgorithmRegistry::instance().all()) {
    registered.emplace(a->kind, std::string(a->name));
    EXPECT_NE(a->run, nullptr) << a->name;
    EXPECT_NE(a->scratch_bytes, nullptr) << a->name;
  }
  const Names expected{
      {CollectiveKind::kAllReduce, "ring"},          {CollectiveKind::kAllReduce, "recursive-doubling"},
      {CollectiveKind::kAllReduce, "rabenseifner"},  {CollectiveKind::kAllGather, "ring"},
      {CollectiveKind::kAllGather, "recursive-doubling"}, {CollectiveKind::kAllGather, "bruck"},
      {CollectiveKind::kReduceScatter, "ring"},      {CollectiveKind::kAllToAll, "pairwise"}};
  // A registry missing algorithms usually means the library was not linked whole.
  EXPECT_EQ(registered, expected);
}

TEST(CollectiveRegistry, RefusesDuplicatesAndNamesTheKnown) {
  const Algorithm* ring = AlgorithmRegistry::instance().find(CollectiveKind::kAllReduce, "ring");
  ASSERT_NE(ring, nullptr);
  EXPECT_FALSE(AlgorithmRegistry::instance().add(*ring));
  auto missing = find_algorithm(CollectiveKind::kAllGather, "tree");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("bruck, recursive-doubling, ring"), std::string::npos)
      << missing.status().message();
  auto found = find_algorithm(CollectiveKind::kAllToAll, "pairwise");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found.value()->kind, CollectiveKind::kAllToAll);
}

TEST(CollectiveKinds, NamesRoundTrip) {
  for (CollectiveKind kind : kAllCollectiveKinds) {
    auto parsed = parse_collective_kind(to_string(kind));
    ASSERT_TRUE(parsed.ok()) << to_string(kind);
    EXPECT_EQ(parsed.value(), kind);
  }
  EXPECT_EQ(to_string(CollectiveKind::kReduceScatter), "reducescatter");
  EXPECT_FALSE(parse_collective_kind("all-reduce").ok());
}

TEST(CollectiveShapes, BufferCountsFollowNcclTests) {
  CollectiveShape shape{CollectiveKind::kAllGather, DataType::kFloat16, ReduceOp::kSum, 4, 12};
  EXPECT_EQ(shape.block(), 3u);
  EXPECT_EQ(shape.input_bytes(), 6u);
  EXPECT_EQ(shape.output_bytes(), 24u);
  shape.kind = CollectiveKind::kReduceScatter;
  EXPECT_EQ(shape.input_count(), 12u);
  EXPECT_EQ(shape.output_count(), 3u);
  shape.kind = CollectiveKind::kAllToAll;
  EXPECT_EQ(shape.input_count(), 12u);
  EXPECT_EQ(shape.output_count(), 12u);
}

void expect_all_ok(const std::vector<Status>& results) {
  for (size_t rank = 0; rank < results.size(); ++rank)
    EXPECT_TRUE(results[rank].ok()) << "rank " << rank << ": " << results[rank].debug_string();
}

TEST(CollectiveInvocations, BadOnesAreRefusedBeforeAnyTransfer) {
  expect_all_ok(run_ranks("loopback", 2, [](RankEnv& env) -> Status {
    FB_TRY_ASSIGN(auto comm, Communicator::create(env.context, MemoryKind::kHost, test_options(4)));
    FB_TRY_ASSIGN(const Algorithm* ring, find_algorithm(CollectiveKind::kAllReduce, "ring"));
    std::vector<std::byte> a(64), b(64), scratch(64);
    const CollectiveBuffers buffers{a, b, scratch};
    auto refused = [&](CollectiveShape shape, const CollectiveBuffers& with, std::string_view what) -> Status {
      Status status = ring->run(comm, shape, with);
      if (status.code() == StatusCode::kInvalidArgument) return {};
      return Status::error(StatusCode::kInternal,
                           std::string(what) + " was not refused: " + status.to_string(), FB_HERE);
    };
    const CollectiveShape good{CollectiveKind::kAllReduce, DataType::kFloat32, ReduceOp::kSum, 2, 8};
    CollectiveShape shape = good;
    shape.count = 7;
    FB_TRY(refused(shape, buffers, "a count that is not a multiple of the ranks"));
    shape = good;
    shape.ranks = 3;
    FB_TRY(refused(shape, buffers, "a shape for another rank count"));
    shape = good;
    shape.kind = CollectiveKind::kAllGather;
    FB_TRY(refused(shape, buffers, "an all-gather shape"));
    shape = good;
    shape.count = 32;
    FB_TRY(refused(shape, buffers, "a 64-byte output for 128 bytes"));
    FB_TRY(refused(good, {a, b, std::span(scratch).first(15)}, "a 15-byte scratch for a 16-byte block"));
    FB_TRY(refused(good, {std::span(b).subspan(4), b, scratch}, "overlapping input and output"));
    FB_TRY(refused(good, {a, b, std::span(b).subspan(16)}, "scratch inside the output"));
    shape = good;
    shape.dtype = static_cast<DataType>(42);
    FB_TRY(refused(shape, buffers, "an unknown data type"));
    // The good call still works afterwards, so nothing was left half-posted.
    return ring->run(comm, good, buffers);
  }));
}

TEST(CollectiveInvocations, OptionsAreChecked) {
  expect_all_ok(run_ranks("loopback", 1, [](RankEnv& env) -> Status {
    CommunicatorOptions options;
    options.chunk_bytes = 4;
    if (Communicator::create(env.context, MemoryKind::kHost, options).ok())
      return Status::error(StatusCode::kInternal, "a 4-byte chunk was accepted", FB_HERE);
    options.chunk_bytes = 100;
    options.window = 0;
    if (Communicator::create(env.context, MemoryKind::kHost, options).ok())
      return Status::error(StatusCode::kInternal, "a window of 0 was accepted", FB_HERE);
    options.window = 1;
    FB_TRY_ASSIGN(auto comm, Communicator::create(env.context, MemoryKind::kHost, options));
    if (comm.chunk_bytes() != 96)
      return Status::error(StatusCode::kInternal, "chunk not rounded down to 8 bytes", FB_HERE);
    if (comm.options().timeout != env.context.options().timeout)
      return Status::error(StatusCode::kInternal, "timeout 0 did not take the transport's", FB_HERE);
    return {};
  }));
}

// Loopback: the whole matrix, with a window smaller than a step's chunks (posts as earlier ones
// complete) and one larger (every chunk of a step posted up front).
const Matrix kFullMatrix{
    .dtypes = {kAllDataTypes.begin(), kAllDataTypes.end()},
    .ops = {kAllReduceOps.begin(), kAllReduceOps.end()},
    .block_sizes = {0, 1, 3, 37},  // a 37-element block at 64-byte chunks: 2 chunks of fp16, 5 of fp64
    .windows = {2, 64},
    .in_place = true,
};

// Real transports: the extremes of element size and one each of the two kinds of operator.
const Matrix kReducedMatrix{
    .dtypes = {DataType::kFloat64, DataType::kFloat16},
    .ops = {ReduceOp::kSum, ReduceOp::kMin},
    .block_sizes = {0, 1, 37},
    .windows = {2},
    .in_place = false,
};

// 64 KiB blocks in 16 KiB chunks: on ucx these go by rendezvous (zero-copy where UCX can),
// where a send completes only when the peer has taken the data, so reusing or reducing into a
// buffer too early shows (checked: recursive doubling reducing a chunk before its send
// completed passes every other test and fails this one).
const Matrix kLargeMatrix{
    .dtypes = {DataType::kFloat32},
    .ops = {ReduceOp::kSum},
    .block_sizes = {16384 + 3},
    .windows = {3},
    .in_place = false,
    .chunk_bytes = 16 << 10,
};

// For every algorithm, data type and operator: one input element of one rank corrupted must
// make exactly the output elements that depend on it wrong, on every rank.
Status corruption_is_caught(Context& context, std::vector<std::string>& failures) {
  const int ranks = context.size();
  FB_TRY_ASSIGN(auto comm, Communicator::create(context, MemoryKind::kHost, test_options(2)));
  constexpr size_t kBlock = 37;
  RankBuffers buffers(kBlock * static_cast<size_t>(ranks), kBlock * static_cast<size_t>(ranks) * 8);
  for (const Algorithm* algorithm : AlgorithmRegistry::instance().all()) {
    const bool reducing = reduces(algorithm->kind);
    for (DataType dtype : kAllDataTypes)
      for (ReduceOp op : kAllReduceOps) {
        if (!reducing && op != ReduceOp::kSum) continue;
        const Case c{algorithm, dtype, op, kBlock, false};
        const size_t inputs =
            algorithm->kind == CollectiveKind::kAllGather ? kBlock : kBlock * static_cast<size_t>(ranks);
        // A rank in the middle, an element in the middle of its input.
        const Corruption corruption{ranks / 2, inputs / 2 + 1};
        std::vector<size_t> wrong;
        FB_TRY(buffers.run(comm, c, corruption, failures, &wrong));
        const std::vector<size_t> predicted = elements_changed_by(c, comm.rank(), corruption);
        if (wrong != predicted && failures.size() < 8) {
          std::string message = describe(c, ranks);
          message.append(", rank ").append(std::to_string(comm.rank()));
          message.append(", input ").append(std::to_string(corruption.index));
          message.append(" of rank ").append(std::to_string(corruption.rank));
          message.append(" corrupted: wrong elements {").append(join(wrong));
          message.append(" } where {").append(join(predicted)).append(" } were predicted");
          failures.push_back(message);
        }
      }
  }
  return {};
}

class CollectiveAlgorithms : public ::testing::TestWithParam<std::tuple<std::string, int>> {
 protected:
  void SetUp() override {
    if (std::string why = unusable_reason(transport()); !why.empty()) GTEST_SKIP() << why;
  }
  const std::string& transport() const { return std::get<0>(GetParam()); }
  int ranks() const { return std::get<1>(GetParam()); }

  // Runs `body` on every rank of one job and reports every rank's failures.
  void run(const std::function<Status(Context&, std::vector<std::string>&)>& body) {
    TransportOptions options;
    // More rank threads than cores: wait by yielding or sleeping rather than spinning.
    options.progress = ProgressMode::kEvent;
    options.one_sided = false;
    std::vector<std::vector<std::string>> failures(static_cast<size_t>(ranks()));
    const auto results = run_ranks(transport(), ranks(), [&](RankEnv& env) {
      return body(env.context, failures[static_cast<size_t>(env.rank())]);
    }, options);
    expect_all_ok(results);
    for (size_t rank = 0; rank < failures.size(); ++rank)
      for (const std::string& failure : failures[rank]) ADD_FAILURE() << failure;
  }
};

TEST_P(CollectiveAlgorithms, EveryCaseExact) {
  const Matrix& matrix = transport() == "loopback" ? kFullMatrix : kReducedMatrix;
  std::vector<size_t> cases(static_cast<size_t>(ranks()));
  run([&](Context& context, std::vector<std::string>& failures) {
    return run_matrix(context, matrix, failures, cases[static_cast<size_t>(context.rank())]);
  });
  // 3 all-reduce and 3 all-gather algorithms (both also in place), 1 reduce-scatter and
  // 1 all-to-all; the operator varies for the reducing ones only.
  const size_t in_place = matrix.in_place ? 2 : 1;
  const size_t per_window = matrix.dtypes.size() * matrix.block_sizes.size() *
                            (3 * matrix.ops.size() * in_place + 3 * in_place + matrix.ops.size() + 1);
  for (size_t count : cases) EXPECT_EQ(count, per_window * matrix.windows.size());
}

TEST_P(CollectiveAlgorithms, LargeTransfersExact) {
  std::vector<size_t> cases(static_cast<size_t>(ranks()));
  run([&](Context& context, std::vector<std::string>& failures) {
    return run_matrix(context, kLargeMatrix, failures, cases[static_cast<size_t>(context.rank())]);
  });
  for (size_t count : cases) EXPECT_EQ(count, AlgorithmRegistry::instance().all().size());
}

// The check itself is proven once, on loopback.
class CollectiveCheck : public CollectiveAlgorithms {};

TEST_P(CollectiveCheck, CorruptedInputIsCaught) { run(corruption_is_caught); }

std::string test_name(const ::testing::TestParamInfo<std::tuple<std::string, int>>& param) {
  return std::get<0>(param.param) + "_" + std::to_string(std::get<1>(param.param)) + "ranks";
}

INSTANTIATE_TEST_SUITE_P(Loopback, CollectiveAlgorithms,
                         ::testing::Combine(::testing::Values("loopback"), ::testing::Range(1, 9)), test_name);
INSTANTIATE_TEST_SUITE_P(Ucx, CollectiveAlgorithms,
                         ::testing::Combine(::testing::Values("ucx"), ::testing::Range(1, 5)), test_name);
INSTANTIATE_TEST_SUITE_P(Loopback, CollectiveCheck,
                         ::testing::Combine(::testing::Values("loopback"), ::testing::Range(1, 9)), test_name);

}  // namespace
}  // namespace fb::collective_tests
