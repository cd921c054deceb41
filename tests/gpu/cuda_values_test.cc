// Filling, checking and timing device buffers on the device (the cuda kernel's fill,
// count_wrong and make_timer) against the host kernel's loops: every type and value scheme,
// bit for bit, at counts that hit one block and many grid strides, with guard zones around
// every buffer. Without a device only the tests of what happens then run.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
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

constexpr size_t kCounts[] = {0, 1, 31, 4099, (size_t{1} << 20) + 5};  // the last: several grid strides
constexpr size_t kGuardBytes = 64;
constexpr uint8_t kGuardByte = 0x5a;

const ReduceKernel& device_kernel() { return *reduce_kernel_for(MemoryKind::kCudaDevice).value(); }
const ReduceKernel& host_kernel() { return *reduce_kernel_for(MemoryKind::kHost).value(); }

// A scheme of every kind the collective benchmark uses, with parameters that reach past the
// first few ranks, blocks and bump periods.
struct NamedScheme {
  std::string name;
  ValueScheme scheme;
};

std::vector<NamedScheme> schemes_for(DataType type) {
  std::vector<NamedScheme> out;
  for (ReduceOp op : kAllReduceOps)
    for (int ranks : {3, 4096}) {
      const ReduceParams params = ReduceValues::make(type, op, ranks).value().params();
      const std::string tag = std::string(to_string(op)) + "/" + std::to_string(ranks);
      ValueScheme input;
      input.values = ValueScheme::Values::kReduceInput;
      input.reduce = params;
      input.source = static_cast<uint64_t>(ranks - 1);
      out.push_back({"input " + tag, input});
      ValueScheme result;
      result.values = ValueScheme::Values::kReduceResult;
      result.reduce = params;
      result.offset = 1021;  // reduce-scatter's block of a later rank
      out.push_back({"result " + tag, result});
    }
  ValueScheme moved;
  moved.values = ValueScheme::Values::kMoved;
  moved.source = 5;
  out.push_back({"moved from one rank", moved});
  moved.block = 1000;
  moved.offset = 3000;  // all-to-all's view of rank 3
  out.push_back({"moved in blocks", moved});
  out.push_back({"constant", ValueScheme::filled_with(253)});
  return out;
}

// `count` elements of device memory between two guard zones.
class GuardedDevice {
 public:
  GuardedDevice(DataType type, size_t count)
      : bytes_(count * element_size(type)), buffer_(must_allocate(MemoryKind::kCudaDevice, bytes_ + 2 * kGuardBytes)) {
    if (!buffer_) return;
    EXPECT_EQ(cudaMemset(buffer_->data(), kGuardByte, buffer_->size()), cudaSuccess);
    // The kernel works on its own non-blocking stream, which does not wait for the legacy one.
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  bool ok() const { return buffer_ != nullptr; }
  void* data() const { return buffer_->bytes() + kGuardBytes; }
  std::vector<uint8_t> download_all() const {
    std::vector<uint8_t> out(buffer_->size());
    EXPECT_TRUE(copy_memory(host_span(out.data(), out.size()), buffer_->span(), out.size()).ok());
    return out;
  }
  void upload(size_t offset, const void* from, size_t bytes) const {
    const MemorySpan to{static_cast<std::byte*>(data()) + offset, bytes, MemoryKind::kCudaDevice};
    ASSERT_TRUE(copy_memory(to, host_span(from, bytes), bytes).ok());
  }
  size_t bytes() const { return bytes_; }

 private:
  size_t bytes_;
  std::unique_ptr<Buffer> buffer_;
};

bool all_guard(const uint8_t* bytes, size_t n) {
  return std::all_of(bytes, bytes + n, [](uint8_t b) { return b == kGuardByte; });
}

using DeviceValues = GpuTest;

TEST_F(DeviceValues, FillWritesWhatTheHostLoopsWrite) {
  for (DataType type : kAllDataTypes)
    for (const NamedScheme& s : schemes_for(type))
      for (size_t count : kCounts) {
        SCOPED_TRACE(std::string(to_string(type)) + " " + s.name + " count " + std::to_string(count));
        GuardedDevice device(type, count);
        ASSERT_TRUE(device.ok());
        ASSERT_TRUE(device_kernel().fill(device.data(), count, type, s.scheme).ok());
        std::vector<uint8_t> want(device.bytes() + 8);
        ASSERT_TRUE(host_kernel().fill(want.data(), count, type, s.scheme).ok());
        const std::vector<uint8_t> got = device.download_all();
        ASSERT_TRUE(all_guard(got.data(), kGuardBytes)) << "written before the buffer";
        ASSERT_TRUE(all_guard(got.data() + kGuardBytes + device.bytes(), kGuardBytes)) << "written past the end";
        ASSERT_EQ(std::memcmp(got.data() + kGuardBytes, want.data(), device.bytes()), 0);
      }
}

TEST_F(DeviceValues, AFilledBufferHasNothingWrongAndEachChangeCounts) {
  for (DataType type : kAllDataTypes)
    for (const NamedScheme& s : schemes_for(type)) {
      const size_t count = kCounts[4];
      SCOPED_TRACE(std::string(to_string(type)) + " " + s.name);
      GuardedDevice device(type, count);
      ASSERT_TRUE(device.ok());
      ASSERT_TRUE(device_kernel().fill(device.data(), count, type, s.scheme).ok());
      auto wrong = device_kernel().count_wrong(device.data(), count, type, s.scheme);
      ASSERT_TRUE(wrong.ok()) << wrong.status().to_string();
      EXPECT_EQ(wrong.value(), 0u);

      // The first, the last and one in the middle, each one nearer zero than it should be (exact in
      // every type, where one more could round back to the right value); and one NaN where the
      // type has it.
      const size_t size = element_size(type);
      std::vector<size_t> changed{0, count / 2, count - 1};
      for (size_t index : changed) {
        alignas(8) uint8_t element[8] = {};
        const double right = s.scheme.value(index);
        store_value(element, 0, type, right > 0 ? right - 1 : right + 1);
        device.upload(index * size, element, size);
      }
      if (type != DataType::kInt32) {
        alignas(8) uint8_t element[8] = {};
        store_value(element, 0, type, std::numeric_limits<double>::quiet_NaN());
        device.upload(7 * size, element, size);
        changed.push_back(7);
      }
      wrong = device_kernel().count_wrong(device.data(), count, type, s.scheme);
      ASSERT_TRUE(wrong.ok()) << wrong.status().to_string();
      EXPECT_EQ(wrong.value(), changed.size());
      // The host loops agree on the same bytes.
      const std::vector<uint8_t> all = device.download_all();
      EXPECT_EQ(host_kernel().count_wrong(all.data() + kGuardBytes, count, type, s.scheme).value(), changed.size());
    }
}

TEST_F(DeviceValues, EveryElementWrongIsCountedInFull) {
  const size_t count = kCounts[4];
  GuardedDevice device(DataType::kFloat32, count);
  ASSERT_TRUE(device.ok());
  ASSERT_TRUE(device_kernel().fill(device.data(), count, DataType::kFloat32, ValueScheme::filled_with(1)).ok());
  auto wrong = device_kernel().count_wrong(device.data(), count, DataType::kFloat32, ValueScheme::filled_with(2));
  ASSERT_TRUE(wrong.ok()) << wrong.status().to_string();
  EXPECT_EQ(wrong.value(), count);
}

TEST_F(DeviceValues, HostPointersAreRejectedAndTheDeviceStaysUsable) {
  std::vector<float> host(64);
  const ValueScheme scheme = ValueScheme::filled_with(3);
  EXPECT_EQ(device_kernel().fill(host.data(), host.size(), DataType::kFloat32, scheme).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(device_kernel().count_wrong(host.data(), host.size(), DataType::kFloat32, scheme).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(device_kernel().make_timer(host.data()).status().code(), StatusCode::kInvalidArgument);
  GuardedDevice device(DataType::kFloat32, 64);
  ASSERT_TRUE(device.ok());
  EXPECT_TRUE(device_kernel().fill(device.data(), 64, DataType::kFloat32, scheme).ok());
  EXPECT_EQ(device_kernel().count_wrong(device.data(), 64, DataType::kFloat32, scheme).value(), 0u);
}

TEST_F(DeviceValues, MisalignedBuffersAreRejected) {
  GuardedDevice device(DataType::kFloat64, 16);
  ASSERT_TRUE(device.ok());
  void* shifted = static_cast<std::byte*>(device.data()) + 4;
  EXPECT_EQ(device_kernel().fill(shifted, 8, DataType::kFloat64, ValueScheme::filled_with(1)).code(),
            StatusCode::kInvalidArgument);
}

// The timer brackets work on the kernel's stream: a fill of a large buffer between start and
// stop takes device time, and no more than the host saw pass around it.
TEST_F(DeviceValues, TimerMeasuresTheWorkBetweenStartAndStop) {
  const size_t count = size_t{64} << 20;  // 256 MiB of fp32
  auto buffer = must_allocate(MemoryKind::kCudaDevice, count * 4);
  ASSERT_TRUE(buffer);
  auto timer = device_kernel().make_timer(buffer->data());
  ASSERT_TRUE(timer.ok()) << timer.status().to_string();
  const auto before = std::chrono::steady_clock::now();
  ASSERT_TRUE(timer.value()->start().ok());
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(device_kernel().fill(buffer->data(), count, DataType::kFloat32, ValueScheme::filled_with(i)).ok());
  ASSERT_TRUE(timer.value()->stop().ok());
  auto elapsed = timer.value()->elapsed_us();
  const double host_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - before).count();
  ASSERT_TRUE(elapsed.ok()) << elapsed.status().to_string();
  EXPECT_GT(elapsed.value(), 10.0);  // four passes over 256 MiB take far more than 10 us
  EXPECT_LE(elapsed.value(), host_us * 1.01 + 50);

  // A timer can be used again; an empty stretch is close to nothing.
  ASSERT_TRUE(timer.value()->start().ok());
  ASSERT_TRUE(timer.value()->stop().ok());
  elapsed = timer.value()->elapsed_us();
  ASSERT_TRUE(elapsed.ok()) << elapsed.status().to_string();
  EXPECT_GE(elapsed.value(), 0.0);
  EXPECT_LT(elapsed.value(), 1000.0);
}

// ---- without a device, or on any host -------------------------------------------------

TEST(DeviceValuesWithoutDevice, CallsFailWithTheReasonInsteadOfCrashing) {
  if (cuda::visible_device_count().ok()) GTEST_SKIP() << "a CUDA device is visible";
  alignas(16) float data[16] = {};
  const ValueScheme scheme = ValueScheme::filled_with(1);
  const Status filled = device_kernel().fill(data, 16, DataType::kFloat32, scheme);
  EXPECT_FALSE(filled.ok());
  EXPECT_FALSE(device_kernel().count_wrong(data, 16, DataType::kFloat32, scheme).ok());
  EXPECT_FALSE(device_kernel().make_timer(data).ok());
  // Nothing to do is done without asking the device.
  EXPECT_TRUE(device_kernel().fill(data, 0, DataType::kFloat32, scheme).ok());
  EXPECT_EQ(device_kernel().count_wrong(data, 0, DataType::kFloat32, scheme).value(), 0u);
}

TEST(ValuesOnAnyHost, TheHostKernelHasNoDeviceClock) {
  float data[4] = {};
  const auto timer = host_kernel().make_timer(data);
  EXPECT_EQ(timer.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(timer.status().to_string().find("no device clock"), std::string::npos) << timer.status().to_string();
}

TEST(ValuesOnAnyHost, InvalidTypesAreRejectedBeforeTheDevice) {
  alignas(16) float data[4] = {};
  const auto bad = static_cast<DataType>(99);
  EXPECT_EQ(device_kernel().fill(data, 4, bad, ValueScheme{}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(host_kernel().fill(data, 4, bad, ValueScheme{}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(host_kernel().fill(nullptr, 4, DataType::kFloat32, ValueScheme{}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fb
