#include "fabricbench/collectives/reduce_values.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "reduce_test_util.h"

namespace fb {
namespace {

constexpr int kMostRanks = 4096;

ReduceValues values_for(DataType type, ReduceOp op, int ranks) {
  auto values = ReduceValues::make(type, op, ranks);
  EXPECT_TRUE(values.ok()) << values.status().to_string();
  return values.value();
}

TEST(ReduceValues, ExactIntegerLimits) {
  EXPECT_EQ(exact_integer_limit(DataType::kFloat16), 2048);
  EXPECT_EQ(exact_integer_limit(DataType::kBFloat16), 256);
  EXPECT_EQ(exact_integer_limit(DataType::kFloat32), 1 << 24);
  EXPECT_EQ(exact_integer_limit(DataType::kFloat64), int64_t{1} << 53);
  EXPECT_EQ(exact_integer_limit(DataType::kInt32), 2147483647);
}

TEST(ReduceValues, RejectsNoRanks) {
  EXPECT_EQ(ReduceValues::make(DataType::kFloat32, ReduceOp::kSum, 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ReduceValues::make(DataType::kFloat32, ReduceOp::kSum, -3).status().code(),
            StatusCode::kInvalidArgument);
}

// Sums are exact in any order when every input is a non-negative integer and the total is
// within the exact range: every partial sum is then an integer between 0 and the total.
TEST(ReduceValues, SumsStayExactForEveryRankCountUpTo4096) {
  // fp64 and int32 share fp32's budget (the scheme caps every type at 2^24).
  for (DataType type : {DataType::kFloat16, DataType::kBFloat16, DataType::kFloat32})
    for (int ranks = 1; ranks <= kMostRanks; ++ranks) {
      const ReduceValues values = values_for(type, ReduceOp::kSum, ranks);
      const int64_t limit = exact_integer_limit(type);
      for (size_t index : {size_t{0}, size_t{1}, size_t(ranks - 1), size_t(ranks), size_t{126},
                           size_t{1021}, size_t{123457}}) {
        int64_t total = 0;
        for (int rank = 0; rank < ranks; ++rank) {
          const double v = values.input(rank, index);
          ASSERT_TRUE(v >= 0 && v == std::floor(v)) << v;
          total += static_cast<int64_t>(v);
        }
        ASSERT_LE(total, limit) << to_string(type) << " ranks " << ranks << " index " << index;
        ASSERT_EQ(static_cast<double>(total), values.expected(index))
            << to_string(type) << " ranks " << ranks << " index " << index;
      }
    }
}

TEST(ReduceValues, MaxAndMinHeldByOneRankForEveryRankCountUpTo4096) {
  for (DataType type : {DataType::kFloat16, DataType::kBFloat16, DataType::kFloat32})
    for (ReduceOp op : {ReduceOp::kMax, ReduceOp::kMin})
      for (int ranks = 1; ranks <= kMostRanks; ranks += (ranks < 300 ? 1 : 97)) {
        const ReduceValues values = values_for(type, op, ranks);
        for (size_t index : {size_t{0}, size_t{5}, size_t(ranks), size_t{1022}, size_t{99991}}) {
          double best = values.input(0, index);
          int holders = 0;
          for (int rank = 0; rank < ranks; ++rank) {
            const double v = values.input(rank, index);
            ASSERT_LE(std::fabs(v), exact_integer_limit(type));
            best = op == ReduceOp::kMax ? std::max(best, v) : std::min(best, v);
          }
          for (int rank = 0; rank < ranks; ++rank) holders += values.input(rank, index) == best;
          ASSERT_EQ(best, values.expected(index)) << ranks << " " << index;
          ASSERT_EQ(holders, 1);
        }
      }
}

// Host and device fills are compared bit for bit, so no input is -0 (a zero min input must
// come out +0 whatever the compiler does with a negation).
TEST(ReduceValues, NoInputIsNegativeZero) {
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMax, ReduceOp::kMin}) {
    const ReduceValues values = values_for(DataType::kFloat32, op, 3);
    int zeros = 0;
    for (int rank = 0; rank < 3; ++rank)
      for (size_t index = 0; index < 4099; ++index) {
        const double v = values.input(rank, index);
        if (v != 0) continue;
        ++zeros;
        ASSERT_FALSE(std::signbit(v)) << to_string(op) << " rank " << rank << " element " << index;
      }
    EXPECT_GT(zeros, 0) << to_string(op) << ": the check saw no zero input";
  }
}

// A chunk landing at the wrong offset must change some result.
TEST(ReduceValues, ResultsVaryAlongTheBuffer) {
  for (DataType type : kAllDataTypes)
    for (ReduceOp op : kAllReduceOps)
      for (int ranks : {1, 2, 8, 128, 256, 1024, 4096}) {
        const ReduceValues values = values_for(type, op, ranks);
        for (size_t shift = 1; shift <= (size_t{1} << 24); shift *= 2) {
          size_t differ = 0;
          for (size_t i = 0; i < 2048; ++i) differ += values.expected(i) != values.expected(i + shift);
          EXPECT_GT(differ, 0u) << to_string(type) << " " << to_string(op) << " ranks " << ranks
                                << " shift " << shift;
        }
      }
}

// The real thing: reduce every rank's buffer with the CPU kernel, in rank order and pairwise
// as a tree does, in the data type itself, and count wrong elements.
TEST(ReduceValues, KernelReductionsMatchExpected) {
  const ReduceKernel& kernel = *reduce_kernel_for(MemoryKind::kHost).value();
  const size_t count = 256 + 7;
  for (DataType type : kAllDataTypes)
    for (ReduceOp op : kAllReduceOps)
      for (int ranks : {1, 2, 3, 8, 127, 129, 256, 257, 2047, 2049, 4096}) {
        const ReduceValues values = values_for(type, op, ranks);
        std::vector<testing::TypedBuffer> inputs;
        for (int rank = 0; rank < ranks; ++rank) {
          inputs.emplace_back(type, count);
          fill_values(inputs.back().data(), count, type, [&](size_t i) { return values.input(rank, i); });
        }
        testing::TypedBuffer in_order = inputs[0];
        for (int rank = 1; rank < ranks; ++rank)
          ASSERT_TRUE(kernel.reduce(in_order.data(), inputs[rank].data(), count, type, op).ok());
        for (size_t step = 1; step < inputs.size(); step *= 2)
          for (size_t rank = 0; rank + step < inputs.size(); rank += 2 * step)
            ASSERT_TRUE(kernel.reduce(inputs[rank].data(), inputs[rank + step].data(), count, type, op).ok());
        auto expected = [&](size_t i) { return values.expected(i); };
        EXPECT_EQ(count_wrong(in_order.data(), count, type, expected), 0u)
            << to_string(type) << " " << to_string(op) << " ranks " << ranks << " in order";
        EXPECT_EQ(count_wrong(inputs[0].data(), count, type, expected), 0u)
            << to_string(type) << " " << to_string(op) << " ranks " << ranks << " as a tree";
      }
}

}  // namespace
}  // namespace fb
