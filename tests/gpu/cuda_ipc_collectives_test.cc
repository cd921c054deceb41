// Every registered collective algorithm on device memory over cuda-ipc, ranks as forked
// processes sharing the GPU: each data type, each reduce op where the collective reduces,
// counts from 0 to over 1 MiB, in place where the collective allows it. Inputs are filled on
// the host and copied to the device; every output element is copied back and compared
// exactly, with the bytes around output and scratch checked for stray writes. One launch per
// rank count runs the whole matrix.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "cuda_ipc_test_util.h"
#include "fabricbench/collectives/algorithm.h"
#include "fabricbench/collectives/element_access.h"
#include "fabricbench/collectives/reduce_values.h"

namespace fb::cuda_ipc_tests {
namespace {

constexpr DataType kTypes[] = {DataType::kFloat32, DataType::kFloat64, DataType::kFloat16, DataType::kBFloat16,
                               DataType::kInt32};
constexpr ReduceOp kOps[] = {ReduceOp::kSum, ReduceOp::kMax, ReduceOp::kMin};
// Elements per block (count = block * ranks): empty, one element, odd sizes within one chunk
// and across a few, and one over 1 MiB in every type.
constexpr size_t kBlocks[] = {0, 1, 3, 37, 4099, 262147};
constexpr size_t kChunkBytes = 32 << 10;
constexpr size_t kGuard = 64;  // bytes around output and scratch; a multiple of every element size
constexpr std::byte kFill{0x5a};  // guards and unwritten output: no expected value has this pattern

bool reduces(CollectiveKind kind) {
  return kind == CollectiveKind::kAllReduce || kind == CollectiveKind::kReduceScatter;
}

struct Case {
  const Algorithm* algorithm;
  DataType dtype;
  ReduceOp op;
  size_t block;
  bool in_place;
  std::optional<std::pair<int, size_t>> corrupt;  // (rank, input index)
};

std::string name_of(const Case& c, int ranks) {
  std::string s(to_string(c.algorithm->kind));
  s.append("/").append(c.algorithm->name).append(" ").append(to_string(c.dtype));
  if (reduces(c.algorithm->kind)) s.append(" ").append(to_string(c.op));
  s.append(" block ").append(std::to_string(c.block)).append(" on ").append(std::to_string(ranks));
  return s.append(c.in_place ? " ranks in place" : " ranks");
}

// Input element i of `rank`: ReduceValues for reductions (exact results in closed form), an
// exactly representable tag of (rank, i) for collectives that only move data. A corrupted
// element still changes every result it enters and stays exact.
double input_value(const Case& c, const ReduceValues& values, int rank, size_t i, bool corrupted) {
  const bool reducing = reduces(c.algorithm->kind);
  const double clean = reducing ? values.input(rank, i) : static_cast<double>((rank * 31 + i) % 251);
  if (!corrupted || !c.corrupt || *c.corrupt != std::pair{rank, i}) return clean;
  if (!reducing || c.op == ReduceOp::kSum) return clean - 1;
  const auto limit = static_cast<double>(exact_integer_limit(c.dtype));
  return c.op == ReduceOp::kMax ? limit : -limit;
}

// Output element j of `rank`, by the collective's definition, from whatever inputs `in` gives.
template <typename In>
double by_definition(const Case& c, int ranks, int rank, size_t j, In&& in) {
  const size_t b = c.block;
  auto fold = [&](size_t i) {
    double acc = in(0, i);
    for (int r = 1; r < ranks; ++r) {
      const double v = in(r, i);
      acc = c.op == ReduceOp::kSum ? acc + v : c.op == ReduceOp::kMax ? std::max(acc, v) : std::min(acc, v);
    }
    return acc;
  };
  switch (c.algorithm->kind) {
    case CollectiveKind::kAllReduce: return fold(j);
    case CollectiveKind::kReduceScatter: return fold(static_cast<size_t>(rank) * b + j);
    case CollectiveKind::kAllGather: return in(static_cast<int>(j / b), j % b);
    case CollectiveKind::kAllToAll: return in(static_cast<int>(j / b), static_cast<size_t>(rank) * b + j % b);
  }
  return 0;
}

// A rank's device buffers, sized once for the largest case, and their host staging copies.
struct RankBuffers {
  std::unique_ptr<Buffer> input, output, scratch;
  std::vector<std::byte> host_input, host_output, host_scratch;
};

// Runs one case on this rank. Returns the number of output elements that differ from the
// uncorrupted expectation in `wrong`; anything else amiss (data that matches neither
// expectation, stray writes, a changed input) is a failure.
Status run_case(const Communicator& comm, RankBuffers& b, const Case& c, size_t& wrong) {
  const int ranks = comm.size();
  const int rank = comm.rank();
  const CollectiveShape shape{c.algorithm->kind, c.dtype, c.op, ranks, c.block * static_cast<size_t>(ranks)};
  const size_t scratch_bytes = c.algorithm->scratch_bytes(shape);
  const std::string name = name_of(c, ranks) + ", rank " + std::to_string(rank);
  FB_TRY_ASSIGN(const ReduceValues values, ReduceValues::make(c.dtype, c.op, ranks));
  auto in = [&](int r, size_t i) { return input_value(c, values, r, i, true); };
  auto clean_in = [&](int r, size_t i) { return input_value(c, values, r, i, false); };

  const size_t output_span = shape.output_bytes() + 2 * kGuard;
  b.host_output.assign(output_span, kFill);
  std::byte* host_out = b.host_output.data() + kGuard;
  std::byte* device_out = b.output->bytes() + kGuard;
  size_t input_at = 0;  // in place: the input's offset within the output
  if (c.in_place && shape.kind == CollectiveKind::kAllGather) input_at = static_cast<size_t>(rank) * shape.input_bytes();
  b.host_input.resize(shape.input_bytes());
  fill_values(b.host_input.data(), shape.input_count(), c.dtype, [&](size_t i) { return in(rank, i); });
  if (c.in_place) std::copy(b.host_input.begin(), b.host_input.end(), host_out + input_at);
  else FB_TRY(to_device(*b.input, 0, b.host_input));
  FB_TRY(to_device(*b.output, 0, b.host_output));
  b.host_scratch.assign(scratch_bytes + 2 * kGuard, kFill);
  FB_TRY(to_device(*b.scratch, 0, b.host_scratch));

  const std::byte* device_in = c.in_place ? device_out + input_at : b.input->bytes();
  const CollectiveBuffers buffers{{device_in, shape.input_bytes()},
                                  {device_out, shape.output_bytes()},
                                  {b.scratch->bytes() + kGuard, scratch_bytes}};
  if (Status ran = c.algorithm->run(comm, shape, buffers); !ran.ok()) return ran.with_context(name);

  FB_TRY_ASSIGN(const auto out, from_device(*b.output, 0, output_span));
  FB_TRY_ASSIGN(const auto scratch, from_device(*b.scratch, 0, b.host_scratch.size()));
  auto fill_only = [](auto first, auto last) { return std::all_of(first, last, [](std::byte x) { return x == kFill; }); };
  FB_TRY(expect(fill_only(out.begin(), out.begin() + kGuard) && fill_only(out.end() - kGuard, out.end()),
                name + ": wrote outside the output"));
  FB_TRY(expect(fill_only(scratch.begin(), scratch.begin() + kGuard) && fill_only(scratch.end() - kGuard, scratch.end()),
                name + ": wrote outside the scratch buffer"));
  if (!c.in_place) {
    FB_TRY_ASSIGN(const auto input_after, from_device(*b.input, 0, shape.input_bytes()));
    FB_TRY(expect(input_after == b.host_input, name + ": changed its input"));
  }

  const std::byte* got = out.data() + kGuard;
  wrong = 0;
  std::string first_problem;
  for (size_t j = 0; j < shape.output_count(); ++j) {
    const double value = load_value(got, j, c.dtype);
    // Reductions against the closed form, data movement against the definition.
    const double want = shape.kind == CollectiveKind::kAllReduce       ? values.expected(j)
                        : shape.kind == CollectiveKind::kReduceScatter ? values.expected(static_cast<size_t>(rank) * c.block + j)
                                                                       : by_definition(c, ranks, rank, j, clean_in);
    if (value == want) continue;
    ++wrong;
    // A corrupted input may change this element, but only to what the definition gives.
    if (c.corrupt && value == by_definition(c, ranks, rank, j, in)) continue;
    if (first_problem.empty())
      first_problem = "element " + std::to_string(j) + " is " + std::to_string(value) + " where " +
                      std::to_string(want) + " was expected";
  }
  return expect(first_problem.empty(), name + ": " + first_problem);
}

Status run_matrix(Context& context, Bootstrap& bootstrap) {
  const auto started = Clock::now();
  const int ranks = context.size();
  CommunicatorOptions options;
  options.chunk_bytes = kChunkBytes;
  options.window = 16;
  options.timeout = kTimeout;
  FB_TRY_ASSIGN(const Communicator comm, Communicator::create(context, MemoryKind::kCudaDevice, options));

  const size_t max_count = *std::max_element(std::begin(kBlocks), std::end(kBlocks)) * static_cast<size_t>(ranks);
  size_t max_scratch = 0;
  for (const Algorithm* algorithm : AlgorithmRegistry::instance().all())
    max_scratch = std::max(max_scratch, algorithm->scratch_bytes({algorithm->kind, DataType::kFloat64,
                                                                  ReduceOp::kSum, ranks, max_count}));
  RankBuffers buffers;
  FB_TRY_ASSIGN(buffers.input, device_buffer(max_count * 8));
  FB_TRY_ASSIGN(buffers.output, device_buffer(max_count * 8 + 2 * kGuard));
  FB_TRY_ASSIGN(buffers.scratch, device_buffer(max_scratch + 2 * kGuard));

  size_t cases = 0;
  for (const Algorithm* algorithm : AlgorithmRegistry::instance().all()) {
    const bool reducing = reduces(algorithm->kind);
    const bool in_place_too = algorithm->kind == CollectiveKind::kAllReduce || algorithm->kind == CollectiveKind::kAllGather;
    for (DataType dtype : kTypes)
      for (ReduceOp op : kOps) {
        if (!reducing && op != ReduceOp::kSum) continue;
        for (size_t block : kBlocks)
          for (bool in_place : {false, true}) {
            if (in_place && !in_place_too) continue;
            size_t wrong = 0;
            FB_TRY(run_case(comm, buffers, {algorithm, dtype, op, block, in_place, std::nullopt}, wrong));
            FB_TRY(expect(wrong == 0, "unreachable: wrong elements without a corruption"));
            ++cases;
          }
      }

    // One input element of the last rank corrupted: exactly the output elements it enters
    // differ, one per rank where every rank receives it, one in the job otherwise.
    // All-gather's input is one block; the others' is the whole count, so reach into block 1.
    const size_t index = algorithm->kind == CollectiveKind::kAllGather ? 5 : 37 + 5;
    const Case corrupted{algorithm, DataType::kFloat32, reducing ? ReduceOp::kMax : ReduceOp::kSum, 37, false,
                         std::pair{ranks - 1, index}};
    size_t wrong = 0;
    FB_TRY(run_case(comm, buffers, corrupted, wrong));
    FB_TRY_ASSIGN(const auto everyone, allgather_value(bootstrap, wrong));
    size_t total = 0;
    for (size_t w : everyone) total += w;
    const bool everyone_receives_it = algorithm->kind == CollectiveKind::kAllReduce ||
                                      algorithm->kind == CollectiveKind::kAllGather;
    const size_t want = everyone_receives_it ? static_cast<size_t>(ranks) : 1;
    FB_TRY(expect(total == want, name_of(corrupted, ranks) + ": a corrupted input gave " + std::to_string(total) +
                                     " wrong elements in the job where " + std::to_string(want) + " were expected"));
    const int receiver = static_cast<int>(index / corrupted.block);
    FB_TRY(expect(wrong == (everyone_receives_it || context.rank() == receiver ? 1u : 0u),
                  name_of(corrupted, ranks) + ": the corruption showed on the wrong rank"));
    ++cases;
  }
  if (context.rank() == 0)
    std::fprintf(stderr, "[cuda-ipc] %zu collective cases on %d ranks in %.1f s\n", cases, ranks,
                 std::chrono::duration<double>(Clock::now() - started).count());
  return {};
}

class CudaIpcCollectives : public ::testing::TestWithParam<int> {};

TEST_P(CudaIpcCollectives, EveryAlgorithmTypeOpAndCountOnDeviceMemory) {
  SKIP_WITHOUT_CUDA_IPC();
  ASSERT_FALSE(AlgorithmRegistry::instance().all().empty()) << "no collective algorithm is linked in";
  EXPECT_TRUE(run_job(GetParam(), &run_matrix));
}

INSTANTIATE_TEST_SUITE_P(Ranks, CudaIpcCollectives, ::testing::Values(2, 4));

}  // namespace
}  // namespace fb::cuda_ipc_tests
