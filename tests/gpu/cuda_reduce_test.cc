// The device reduce kernel against the CPU kernel, bit for bit: every type and op, counts that
// hit the empty, scalar-only, vector-plus-tail and multi-block paths, in place and out of place,
// at 16-byte-aligned, equally shifted (scalar head) and differently shifted (all-scalar)
// addresses, with guard zones around every output.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fabricbench/collectives/element_access.h"
#include "fabricbench/collectives/reduce.h"
#include "fabricbench/collectives/reduce_values.h"
#include "gpu_test_util.h"

namespace fb {
namespace {

using testing::GpuTest;
using testing::host_span;
using testing::must_allocate;

constexpr size_t kCounts[] = {0, 1, 7, 4097, (size_t{1} << 20) + 3};
constexpr size_t kMaxCount = (size_t{1} << 20) + 3;
constexpr size_t kGuardElements = 8;
constexpr uint8_t kGuardByte = 0xa5;

enum class Form { kThreeOperand, kOutIsA, kOutIsB };
// Element offsets from the start of each buffer: none; all three by one element (same offset
// from a 16-byte boundary, so a scalar head before the vectors); only a's (offsets differ, so
// no vector fits all three and every element goes one at a time).
enum class Shift { kNone, kAll, kOnlyA };

const char* name_of(Form form) {
  return form == Form::kThreeOperand ? "3op" : form == Form::kOutIsA ? "out=a" : "out=b";
}
const char* name_of(Shift shift) {
  return shift == Shift::kNone ? "aligned" : shift == Shift::kAll ? "all+1" : "a+1";
}

const ReduceKernel& device_kernel() {
  static const ReduceKernel* kernel = reduce_kernel_for(MemoryKind::kCudaDevice).value();
  return *kernel;
}
const ReduceKernel& host_kernel() { return *reduce_kernel_for(MemoryKind::kHost).value(); }

// count elements of a type in host memory, 8-byte aligned.
struct HostArray {
  HostArray(DataType type, size_t count) : type(type), count(count), words(count * element_size(type) / 8 + 1) {}
  void* data() { return words.data(); }
  const void* data() const { return words.data(); }
  size_t bytes() const { return count * element_size(type); }
  DataType type;
  size_t count;
  std::vector<uint64_t> words;
};

// Device memory filled with guard bytes, then data written at an element offset.
class DeviceArray {
 public:
  DeviceArray(DataType type, size_t count)
      : type_(type), buffer_(must_allocate(MemoryKind::kCudaDevice, (count + 2 * kGuardElements) * element_size(type))) {}
  bool ok() const { return buffer_ != nullptr; }
  std::byte* at(size_t element) const { return buffer_->bytes() + element * element_size(type_); }

  void guard(size_t elements) const {
    ASSERT_EQ(cudaMemset(buffer_->data(), kGuardByte, elements * element_size(type_)), cudaSuccess);
    // The kernel runs on its own non-blocking stream, which does not wait for the legacy one.
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  void upload(size_t offset, const HostArray& from, size_t count) const {
    const size_t bytes = count * element_size(type_);
    ASSERT_TRUE(copy_memory({at(offset), bytes, MemoryKind::kCudaDevice}, host_span(from.data(), bytes), bytes).ok());
  }
  std::vector<uint8_t> download(size_t elements) const {
    std::vector<uint8_t> out(elements * element_size(type_));
    EXPECT_TRUE(copy_memory(host_span(out.data(), out.size()), buffer_->span(), out.size()).ok());
    return out;
  }

 private:
  DataType type_;
  std::unique_ptr<Buffer> buffer_;
};

bool all_guard(const uint8_t* bytes, size_t n) {
  return std::all_of(bytes, bytes + n, [](uint8_t b) { return b == kGuardByte; });
}

// Inputs from ReduceValues for two ranks, and the CPU kernel's result for them.
struct Case {
  HostArray a, b, expected;
};

Case make_case(DataType type, ReduceOp op, size_t count) {
  Case c{HostArray(type, count), HostArray(type, count), HostArray(type, count)};
  const ReduceValues values = ReduceValues::make(type, op, 2).value();
  fill_values(c.a.data(), count, type, [&](size_t i) { return values.input(0, i); });
  fill_values(c.b.data(), count, type, [&](size_t i) { return values.input(1, i); });
  EXPECT_TRUE(host_kernel().reduce(c.expected.data(), c.a.data(), c.b.data(), count, type, op).ok());
  EXPECT_EQ(count_wrong(c.expected.data(), count, type, [&](size_t i) { return values.expected(i); }), 0u)
      << "the CPU kernel disagrees with the closed form";
  return c;
}

class DeviceReduce : public GpuTest {};

// Runs one (count, form, shift) on the device and compares with the CPU result, bit for bit.
// Returns an empty string when it matched, else what went wrong.

std::string check_one(const Case& c, ReduceOp op, size_t count, Form form, Shift shift, const DeviceArray& A,
                      const DeviceArray& B, const DeviceArray& Out) {
  const DataType type = c.a.type;
  const size_t size = element_size(type);
  const size_t out_off = shift == Shift::kAll ? 1 : 0;
  const size_t a_off = shift == Shift::kNone ? 0 : 1;
  const size_t b_off = shift == Shift::kAll ? 1 : 0;
  const size_t span = count + 2 * kGuardElements;
  A.guard(span), B.guard(span), Out.guard(span);
  A.upload(a_off, c.a, count);
  B.upload(b_off, c.b, count);

  void* x = A.at(a_off);
  void* y = B.at(b_off);
  void* out = form == Form::kThreeOperand ? Out.at(out_off) : form == Form::kOutIsA ? x : y;
  const DeviceArray& holder = form == Form::kThreeOperand ? Out : form == Form::kOutIsA ? A : B;
  const size_t offset = form == Form::kThreeOperand ? out_off : form == Form::kOutIsA ? a_off : b_off;

  const Status status = device_kernel().reduce(out, x, y, count, type, op);
  if (!status.ok()) return "reduce failed: " + status.to_string();
  const std::vector<uint8_t> result = holder.download(span);
  if (!all_guard(result.data(), offset * size)) return "wrote before the output";
  if (!all_guard(result.data() + (offset + count) * size, (span - offset - count) * size))
    return "wrote past the end of the output";
  if (std::memcmp(result.data() + offset * size, c.expected.data(), count * size) != 0) {
    const size_t wrong = count_wrong(result.data() + offset * size, count, type,
                                     [&](size_t i) { return load_value(c.expected.data(), i, type); });
    return std::to_string(wrong) + " of " + std::to_string(count) + " elements differ from the CPU kernel";
  }
  return {};
}

TEST_F(DeviceReduce, EveryTypeOpCountFormAndAlignmentMatchesTheCpuKernel) {
  for (DataType type : kAllDataTypes) {
    DeviceArray A(type, kMaxCount), B(type, kMaxCount), Out(type, kMaxCount);
    ASSERT_TRUE(A.ok() && B.ok() && Out.ok());
    for (ReduceOp op : kAllReduceOps) {
      const Case c = make_case(type, op, kMaxCount);
      for (size_t count : kCounts)
        for (Form form : {Form::kThreeOperand, Form::kOutIsA, Form::kOutIsB})
          for (Shift shift : {Shift::kNone, Shift::kAll, Shift::kOnlyA}) {
            const std::string failure = check_one(c, op, count, form, shift, A, B, Out);
            EXPECT_EQ(failure, "") << to_string(type) << " " << to_string(op) << " count " << count << " "
                                   << name_of(form) << " " << name_of(shift);
          }
    }
  }
}

bool is_nan(DataType type, const void* data, size_t i) {
  const double v = load_value(data, i, type);
  return v != v;
}

// Arbitrary bit patterns (NaN, infinities, subnormals, signed zeros, rounding ties) and chosen
// specials: the device must give the CPU kernel's bits, except that of two NaNs any payload will do.
TEST_F(DeviceReduce, ArbitraryBitsMatchTheCpuKernel) {
  constexpr size_t kCount = 4097;
  const double specials[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1.0, -1.0, 65504.0, 65520.0, 3.0e38,
                             1e-45, 6e-8, 1e-40, 5e-324, 2049.0, 257.0, 0.5, -2.0e9};
  std::mt19937_64 random(20240611);
  for (DataType type : kAllDataTypes) {
    const size_t size = element_size(type);
    HostArray a(type, kCount), b(type, kCount), expected(type, kCount);
    for (HostArray* h : {&a, &b})
      for (size_t i = 0; i < kCount; ++i) {
        if (i % 4 == 0) {
          store_value(h->data(), i, type, specials[random() % std::size(specials)]);
        } else {
          const uint64_t bits = random();
          std::memcpy(static_cast<char*>(h->data()) + i * size, &bits, size);
        }
      }
    DeviceArray A(type, kCount), B(type, kCount), Out(type, kCount);
    ASSERT_TRUE(A.ok() && B.ok() && Out.ok());
    for (ReduceOp op : kAllReduceOps) {
      ASSERT_TRUE(host_kernel().reduce(expected.data(), a.data(), b.data(), kCount, type, op).ok());
      A.upload(0, a, kCount);
      B.upload(0, b, kCount);
      ASSERT_TRUE(device_kernel().reduce(Out.at(0), A.at(0), B.at(0), kCount, type, op).ok());
      const std::vector<uint8_t> result = Out.download(kCount);
      size_t wrong = 0;
      for (size_t i = 0; i < kCount; ++i) {
        const bool both_nan = is_nan(type, result.data(), i) && is_nan(type, expected.data(), i);
        wrong += !both_nan && std::memcmp(result.data() + i * size,
                                          static_cast<const char*>(expected.data()) + i * size, size) != 0;
      }
      EXPECT_EQ(wrong, 0u) << to_string(type) << " " << to_string(op);
    }
  }
}

// One corrupted input element must show up as exactly one wrong output element, at its index.
TEST_F(DeviceReduce, OneCorruptedInputGivesExactlyOneWrongElement) {
  constexpr size_t kCount = 4097;
  constexpr size_t kBad = 1234;
  for (DataType type : kAllDataTypes)
    for (ReduceOp op : kAllReduceOps) {
      const ReduceValues values = ReduceValues::make(type, op, 2).value();
      Case c = make_case(type, op, kCount);
      // Sum: one less (or more) changes the total within the exact range. Max/min: rank 0 is
      // given a value beyond the extreme, which must then win.
      const double original = load_value(c.a.data(), kBad, type);
      const double corrupted = op == ReduceOp::kSum ? original + (original >= 1 ? -1 : 1)
                               : op == ReduceOp::kMax ? values.expected(kBad) + 1
                                                      : values.expected(kBad) - 1;
      store_value(c.a.data(), kBad, type, corrupted);
      DeviceArray A(type, kCount), B(type, kCount);
      ASSERT_TRUE(A.ok() && B.ok());
      A.upload(0, c.a, kCount);
      B.upload(0, c.b, kCount);
      ASSERT_TRUE(device_kernel().reduce(A.at(0), B.at(0), kCount, type, op).ok());
      const std::vector<uint8_t> result = A.download(kCount);
      EXPECT_EQ(count_wrong(result.data(), kCount, type, [&](size_t i) { return values.expected(i); }), 1u)
          << to_string(type) << " " << to_string(op);
      EXPECT_NE(load_value(result.data(), kBad, type), values.expected(kBad)) << to_string(type) << " " << to_string(op);
    }
}

// Threads share the one registered kernel; each must get its own results, whatever the others do.
TEST_F(DeviceReduce, ThreadsReduceConcurrently) {
  constexpr size_t kCount = 65536 + 5;
  constexpr int kThreads = 4, kRounds = 20;
  const DataType type = DataType::kFloat32;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      const ReduceOp op = kAllReduceOps[static_cast<size_t>(t) % kAllReduceOps.size()];
      const Case c = make_case(type, op, kCount);
      DeviceArray A(type, kCount), B(type, kCount), Out(type, kCount);
      if (!A.ok() || !B.ok() || !Out.ok()) return (void)++failures;
      A.upload(0, c.a, kCount);
      B.upload(0, c.b, kCount);
      for (int round = 0; round < kRounds; ++round) {
        if (!device_kernel().reduce(Out.at(0), A.at(0), B.at(0), kCount, type, op).ok()) ++failures;
        const std::vector<uint8_t> result = Out.download(kCount);
        if (std::memcmp(result.data(), c.expected.data(), kCount * sizeof(float)) != 0) ++failures;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(DeviceReduce, HostPointersAreRejectedAndTheDeviceStaysUsable) {
  std::vector<float> host(64, 1.0f);
  auto device = must_allocate(MemoryKind::kCudaDevice, 64 * sizeof(float));
  ASSERT_TRUE(device);
  const Status status = device_kernel().reduce(device->data(), host.data(), 64, DataType::kFloat32, ReduceOp::kSum);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.to_string();
  EXPECT_NE(status.to_string().find("not CUDA device memory"), std::string::npos) << status.to_string();
  EXPECT_TRUE(device_kernel().reduce(device->data(), device->data(), 64, DataType::kFloat32, ReduceOp::kSum).ok());
}

TEST_F(DeviceReduce, CopyMovesDeviceBytesAndRejectsHostMemory) {
  constexpr size_t kBytes = 4097;
  std::vector<uint8_t> source(kBytes), back(kBytes, 0);
  for (size_t i = 0; i < kBytes; ++i) source[i] = static_cast<uint8_t>(i * 7 + 1);
  auto from = must_allocate(MemoryKind::kCudaDevice, kBytes + 1);
  auto to = must_allocate(MemoryKind::kCudaDevice, kBytes + 1);
  ASSERT_TRUE(from && to);
  ASSERT_TRUE(copy_memory(testing::sub_span(*from, 1, kBytes), host_span(source.data(), kBytes), kBytes).ok());
  ASSERT_TRUE(device_kernel().copy(to->bytes() + 1, from->bytes() + 1, kBytes).ok());
  ASSERT_TRUE(copy_memory(host_span(back.data(), kBytes), testing::sub_span(*to, 1, kBytes), kBytes).ok());
  EXPECT_EQ(back, source);
  EXPECT_TRUE(device_kernel().copy(to->data(), from->data(), 0).ok());
  EXPECT_EQ(device_kernel().copy(back.data(), from->data(), kBytes).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fb
