#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "reduce_test_util.h"

namespace fb {
namespace {

using testing::TypedBuffer;

enum class Form { kInPlace, kThreeOperand, kOutIsB };
constexpr Form kForms[] = {Form::kInPlace, Form::kThreeOperand, Form::kOutIsB};
constexpr size_t kCounts[] = {0, 1, 7, 64, 1000 + 3};

const char* form_name(Form form) {
  return form == Form::kInPlace ? "inplace" : form == Form::kThreeOperand ? "3op" : "out=b";
}

// Runs the reduction in the given form and returns the buffer holding the result.
TypedBuffer run(const ReduceKernel& kernel, Form form, const TypedBuffer& a, const TypedBuffer& b,
                ReduceOp op) {
  TypedBuffer x = a, y = b, out(a.type(), a.count());
  Status status;
  switch (form) {
    case Form::kInPlace: status = kernel.reduce(x.data(), y.data(), a.count(), a.type(), op); break;
    case Form::kThreeOperand: status = kernel.reduce(out.data(), x.data(), y.data(), a.count(), a.type(), op); break;
    case Form::kOutIsB: status = kernel.reduce(y.data(), x.data(), y.data(), a.count(), a.type(), op); break;
  }
  EXPECT_TRUE(status.ok()) << status.to_string();
  EXPECT_TRUE(x.guard_intact() && y.guard_intact() && out.guard_intact()) << "wrote past the end";
  return form == Form::kInPlace ? x : form == Form::kThreeOperand ? out : y;
}

int64_t reference(ReduceOp op, int64_t a, int64_t b) {
  return op == ReduceOp::kSum ? a + b : op == ReduceOp::kMax ? std::max(a, b) : std::min(a, b);
}

std::string where(const ReduceKernel& kernel, DataType type, ReduceOp op, Form form, size_t count) {
  return std::string(kernel.name()) + " " + std::string(to_string(type)) + " " +
         std::string(to_string(op)) + " " + form_name(form) + " count " + std::to_string(count);
}

TEST(CpuReduce, EveryTypeOpFormAndCount) {
  for (const auto& kernel : testing::cpu_kernels())
    for (DataType type : kAllDataTypes)
      for (ReduceOp op : kAllReduceOps)
        for (Form form : kForms)
          for (size_t count : kCounts) {
            TypedBuffer a(type, count), b(type, count);
            auto av = [](size_t i) { return static_cast<int64_t>(i % 11) - 5; };
            auto bv = [](size_t i) { return 3 - static_cast<int64_t>(i % 7); };
            for (size_t i = 0; i < count; ++i) a.set(i, av(i)), b.set(i, bv(i));
            const TypedBuffer result = run(*kernel, form, a, b, op);
            size_t wrong = 0;
            for (size_t i = 0; i < count; ++i)
              wrong += result.get(i) != static_cast<double>(reference(op, av(i), bv(i)));
            EXPECT_EQ(wrong, 0u) << where(*kernel, type, op, form, count);
          }
}

// Hand-checked pairs, repeated along the buffer so both the vector body and the tail see them.
struct Case {
  double a, b, sum, max, min;
};

void check_cases(DataType type, const std::vector<Case>& cases) {
  for (const auto& kernel : testing::cpu_kernels())
    for (ReduceOp op : kAllReduceOps)
      for (Form form : kForms)
        for (size_t count : kCounts) {
          TypedBuffer a(type, count), b(type, count);
          for (size_t i = 0; i < count; ++i) a.set(i, cases[i % cases.size()].a), b.set(i, cases[i % cases.size()].b);
          const TypedBuffer result = run(*kernel, form, a, b, op);
          for (size_t i = 0; i < count; ++i) {
            const Case& c = cases[i % cases.size()];
            const double want = op == ReduceOp::kSum ? c.sum : op == ReduceOp::kMax ? c.max : c.min;
            ASSERT_EQ(result.get(i), want) << where(*kernel, type, op, form, count) << " element " << i
                                           << ": " << c.a << ", " << c.b;
          }
        }
}

TEST(CpuReduce, Fp16RoundsAndOverflows) {
  check_cases(DataType::kFloat16, {
      {1.5, 2.25, 3.75, 2.25, 1.5},
      {65504, 65504, INFINITY, 65504, 65504},    // overflow
      {2048, 1, 2048, 2048, 1},                  // 2049: tie to the even 2048
      {2048, 3, 2052, 2048, 3},                  // 2051: tie to the even 2052
      {0x1p-24, 0x1p-24, 0x1p-23, 0x1p-24, 0x1p-24},  // subnormals add exactly
      {-1, 1, 0, 1, -1},
      {-INFINITY, 7, -INFINITY, 7, -INFINITY},
  });
}

TEST(CpuReduce, Bf16RoundsAndOverflows) {
  check_cases(DataType::kBFloat16, {
      {256, 1, 256, 256, 1},        // 257: tie to the even 256
      {256, 3, 260, 256, 3},        // 259: tie to the even 260
      {1, 1, 2, 1, 1},
      {-0.5, 0.25, -0.25, 0.25, -0.5},
      {0x1.fep127, 0x1.fep127, INFINITY, 0x1.fep127, 0x1.fep127},  // the largest bf16, twice
  });
}

TEST(CpuReduce, Fp32AndFp64) {
  const std::vector<Case> cases = {
      {1.5, -2, -0.5, 1.5, -2},
      {1e30, 1e30, 2e30, 1e30, 1e30},
      {3, -3, 0, 3, -3},
      {0.1, 0.2, 0, 0.2, 0.1},  // sum filled in per type below
  };
  std::vector<Case> fp32 = cases, fp64 = cases;
  fp32[3] = {0.1, 0.2, double(0.1f + 0.2f), double(0.2f), double(0.1f)};
  fp32[1].sum = double(1e30f + 1e30f), fp32[1].max = fp32[1].min = double(1e30f);
  fp64[3].sum = 0.1 + 0.2;
  check_cases(DataType::kFloat32, fp32);
  check_cases(DataType::kFloat64, fp64);
}

TEST(CpuReduce, Int32SumWrapsLikeTwosComplement) {
  constexpr double kMax = std::numeric_limits<int32_t>::max();
  constexpr double kMin = std::numeric_limits<int32_t>::min();
  check_cases(DataType::kInt32, {
      {kMax, 1, kMin, kMax, 1},
      {kMin, -1, kMax, -1, kMin},
      {kMax, kMax, -2, kMax, kMax},
      {-5, 3, -2, 3, -5},
  });
}

TEST(CpuReduce, MaxAndMinPropagateNaN) {
  for (DataType type : {DataType::kFloat32, DataType::kFloat64, DataType::kFloat16, DataType::kBFloat16})
    for (const auto& kernel : testing::cpu_kernels())
      for (ReduceOp op : {ReduceOp::kMax, ReduceOp::kMin})
        for (Form form : kForms) {
          const double a[] = {NAN, 1, NAN, 2, -INFINITY};
          const double b[] = {1, NAN, NAN, 3, NAN};
          const size_t count = 1003;
          TypedBuffer x(type, count), y(type, count);
          for (size_t i = 0; i < count; ++i) x.set(i, a[i % 5]), y.set(i, b[i % 5]);
          const TypedBuffer result = run(*kernel, form, x, y, op);
          for (size_t i = 0; i < count; ++i) {
            if (i % 5 == 3)
              ASSERT_EQ(result.get(i), op == ReduceOp::kMax ? 3 : 2);
            else
              ASSERT_TRUE(std::isnan(result.get(i))) << where(*kernel, type, op, form, count) << " element " << i;
          }
        }
}

// The AVX2 variant computes fp16 with other instructions than the baseline; on random bit
// patterns (NaN, infinity, subnormals included) both give the same bits, except which NaN.
TEST(CpuReduce, VariantsAgreeBitForBit) {
  const CpuReduceLoops* avx2 = avx2_reduce_loops();
  if (!avx2) GTEST_SKIP() << "this CPU has no AVX2 and F16C: one variant only";
  auto baseline = make_cpu_reduce_kernel(baseline_reduce_loops());
  auto fast = make_cpu_reduce_kernel(*avx2);
  std::mt19937_64 random(7);
  for (DataType type : kAllDataTypes)
    for (ReduceOp op : kAllReduceOps)
      for (Form form : kForms) {
        const size_t count = 4096 + 5;
        TypedBuffer a(type, count), b(type, count);
        for (auto* buffer : {&a, &b})
          for (size_t i = 0; i < count; ++i) {
            const uint64_t bits = random();
            std::memcpy(static_cast<char*>(buffer->data()) + i * element_size(type), &bits, element_size(type));
          }
        const TypedBuffer slow = run(*baseline, form, a, b, op), quick = run(*fast, form, a, b, op);
        for (size_t i = 0; i < count; ++i) {
          const uint64_t x = slow.bits(i), y = quick.bits(i);
          if (testing::is_nan_bits(type, x) && testing::is_nan_bits(type, y)) continue;
          ASSERT_EQ(x, y) << where(*fast, type, op, form, count) << " element " << i << std::hex
                          << " inputs " << a.bits(i) << ", " << b.bits(i);
        }
      }
}

TEST(CpuReduce, RejectsBadArguments) {
  const ReduceKernel& kernel = *reduce_kernel_for(MemoryKind::kHost).value();
  alignas(8) float buffer[64] = {};
  auto code = [](const Status& s) { return s.code(); };
  EXPECT_EQ(code(kernel.reduce(buffer, buffer + 16, 8, static_cast<DataType>(9), ReduceOp::kSum)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(kernel.reduce(buffer, buffer + 16, 8, DataType::kFloat32, static_cast<ReduceOp>(9))),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(kernel.reduce(nullptr, buffer, 8, DataType::kFloat32, ReduceOp::kSum)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(kernel.reduce(buffer, buffer + 16, nullptr, 8, DataType::kFloat32, ReduceOp::kSum)),
            StatusCode::kInvalidArgument);
  const auto* misaligned = reinterpret_cast<const char*>(buffer + 16) + 2;
  EXPECT_EQ(code(kernel.reduce(buffer, misaligned, 8, DataType::kFloat32, ReduceOp::kSum)),
            StatusCode::kInvalidArgument);
  // Output one element past an input: overlapping but not the same buffer.
  EXPECT_EQ(code(kernel.reduce(buffer + 1, buffer, buffer + 32, 8, DataType::kFloat32, ReduceOp::kSum)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(kernel.reduce(buffer, buffer + 32, buffer + 4, 8, DataType::kFloat32, ReduceOp::kSum)),
            StatusCode::kInvalidArgument);
  // Inputs may overlap each other; nothing to do for zero elements, even without buffers.
  EXPECT_TRUE(kernel.reduce(buffer + 32, buffer, buffer + 1, 8, DataType::kFloat32, ReduceOp::kSum).ok());
  EXPECT_TRUE(kernel.reduce(nullptr, nullptr, 0, DataType::kFloat32, ReduceOp::kSum).ok());
  EXPECT_TRUE(kernel.reduce(buffer, buffer + 8, 8, DataType::kFloat32, ReduceOp::kSum).ok());  // adjacent
}

}  // namespace
}  // namespace fb
