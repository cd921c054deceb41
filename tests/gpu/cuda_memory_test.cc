// The cuda and cuda-pinned memory kinds on a real device: allocation at awkward sizes, errors
// that name the device and size, and copy_memory between every pair of kinds.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "gpu_test_util.h"

namespace fb {
namespace {

using testing::GpuTest;
using testing::host_span;
using testing::must_allocate;

constexpr size_t kSizes[] = {0, 1, 7, 4097, (size_t{1} << 20) + 3};

std::vector<uint8_t> pattern(size_t bytes, uint8_t seed) {
  std::vector<uint8_t> data(bytes);
  for (size_t i = 0; i < bytes; ++i) data[i] = static_cast<uint8_t>(i * 131 + seed + (i >> 8));
  return data;
}

TEST_F(GpuTest, DeviceAndPinnedAllocationsHaveTheirKindAndSize) {
  for (MemoryKind kind : {MemoryKind::kCudaDevice, MemoryKind::kCudaPinned})
    for (size_t bytes : kSizes) {
      auto buffer = must_allocate(kind, bytes);
      ASSERT_TRUE(buffer);
      EXPECT_EQ(buffer->kind(), kind);
      EXPECT_EQ(buffer->size(), bytes);
      EXPECT_NE(buffer->data(), nullptr) << to_string(kind) << " " << bytes << " bytes";
    }
}

TEST_F(GpuTest, PinnedMemoryIsWritableFromTheHost) {
  auto buffer = must_allocate(MemoryKind::kCudaPinned, 4097);
  ASSERT_TRUE(buffer);
  std::memset(buffer->data(), 0x5a, buffer->size());
  EXPECT_EQ(static_cast<uint8_t*>(buffer->data())[4096], 0x5a);
}

TEST_F(GpuTest, AllocationErrorsNameDeviceAndSize) {
  const int devices = cuda::visible_device_count().value();
  auto missing = allocate(MemoryKind::kCudaDevice, 4096, AllocOptions{.device = devices});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().to_string().find("device " + std::to_string(devices)), std::string::npos)
      << missing.status().to_string();
  EXPECT_NE(missing.status().to_string().find("4096 bytes"), std::string::npos) << missing.status().to_string();

  const size_t huge = size_t{1} << 60;
  auto too_big = allocate(MemoryKind::kCudaDevice, huge);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.status().to_string().find(std::to_string(huge) + " bytes on CUDA device 0"),
            std::string::npos)
      << too_big.status().to_string();
  // A failed allocation leaves the device usable.
  EXPECT_TRUE(must_allocate(MemoryKind::kCudaDevice, 64));
}

TEST_F(GpuTest, ANegativeDeviceIsTheLocalRanksShare) {
  const int devices = cuda::visible_device_count().value();
  for (int local_rank : {0, 1, 5}) {
    auto buffer = allocate(MemoryKind::kCudaDevice, 64, AllocOptions{.device = -1, .local_rank = local_rank});
    ASSERT_TRUE(buffer.ok()) << buffer.status().to_string();
    cudaPointerAttributes attributes{};
    ASSERT_EQ(cudaPointerGetAttributes(&attributes, buffer.value()->data()), cudaSuccess);
    EXPECT_EQ(attributes.device, local_rank % devices) << "local rank " << local_rank;
  }
}

TEST_F(GpuTest, AllocationLeavesTheCurrentDeviceAlone) {
  int before = -1, after = -1;
  ASSERT_EQ(cudaGetDevice(&before), cudaSuccess);
  auto buffer = must_allocate(MemoryKind::kCudaDevice, 1);
  ASSERT_EQ(cudaGetDevice(&after), cudaSuccess);
  EXPECT_EQ(before, after);
}

// host -> device -> device -> pinned -> pinned -> host, and host -> pinned -> device -> host,
// each at every size; every hop must carry the bytes exactly.
TEST_F(GpuTest, CopyMemoryRoundTripsBetweenEveryKind) {
  for (size_t bytes : kSizes) {
    const std::vector<uint8_t> source = pattern(bytes, static_cast<uint8_t>(bytes));
    auto d1 = must_allocate(MemoryKind::kCudaDevice, bytes);
    auto d2 = must_allocate(MemoryKind::kCudaDevice, bytes);
    auto p1 = must_allocate(MemoryKind::kCudaPinned, bytes);
    auto p2 = must_allocate(MemoryKind::kCudaPinned, bytes);
    ASSERT_TRUE(d1 && d2 && p1 && p2);
    std::vector<uint8_t> back(bytes, 0), back2(bytes, 0);

    ASSERT_TRUE(copy_memory(d1->span(), host_span(source.data(), bytes), bytes).ok());
    ASSERT_TRUE(copy_memory(d2->span(), d1->span(), bytes).ok());
    ASSERT_TRUE(copy_memory(p1->span(), d2->span(), bytes).ok());
    ASSERT_TRUE(copy_memory(p2->span(), p1->span(), bytes).ok());
    ASSERT_TRUE(copy_memory(host_span(back.data(), bytes), p2->span(), bytes).ok());
    EXPECT_EQ(back, source) << bytes << " bytes via device, device, pinned, pinned";

    std::memset(p1->data(), 0, bytes);
    ASSERT_TRUE(copy_memory(p1->span(), host_span(source.data(), bytes), bytes).ok());
    ASSERT_TRUE(copy_memory(d2->span(), p1->span(), bytes).ok());
    ASSERT_TRUE(copy_memory(host_span(back2.data(), bytes), d2->span(), bytes).ok());
    EXPECT_EQ(back2, source) << bytes << " bytes via pinned, device";
  }
}

TEST_F(GpuTest, CopyMemoryAtAnOffsetTouchesOnlyItsRange) {
  constexpr size_t kBytes = 4097;
  const std::vector<uint8_t> zeros(kBytes + 2, 0), source = pattern(kBytes, 3);
  auto device = must_allocate(MemoryKind::kCudaDevice, kBytes + 2);
  ASSERT_TRUE(device);
  ASSERT_TRUE(copy_memory(device->span(), host_span(zeros.data(), zeros.size()), zeros.size()).ok());
  ASSERT_TRUE(copy_memory(testing::sub_span(*device, 1, kBytes), host_span(source.data(), kBytes), kBytes).ok());
  std::vector<uint8_t> back(kBytes + 2, 0xff);
  ASSERT_TRUE(copy_memory(host_span(back.data(), back.size()), device->span(), back.size()).ok());
  EXPECT_EQ(back.front(), 0);
  EXPECT_EQ(back.back(), 0);
  EXPECT_TRUE(std::equal(source.begin(), source.end(), back.begin() + 1));
}

TEST_F(GpuTest, CopyMemoryRejectsACopyLargerThanItsBuffers) {
  auto device = must_allocate(MemoryKind::kCudaDevice, 16);
  ASSERT_TRUE(device);
  std::vector<uint8_t> host(32);
  EXPECT_EQ(copy_memory(device->span(), host_span(host.data(), 32), 32).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fb
