#include <gtest/gtest.h>

#include "fabricbench/collectives/reduce.h"

namespace fb {
namespace {

TEST(ReduceRegistry, HostHasTheCpuKernel) {
  auto kernel = reduce_kernel_for(MemoryKind::kHost);
  ASSERT_TRUE(kernel.ok()) << kernel.status().to_string();
  EXPECT_EQ(kernel.value()->memory(), MemoryKind::kHost);
  EXPECT_EQ(kernel.value()->name().substr(0, 4), "cpu-");
  EXPECT_EQ(reduce_kernel_for(MemoryKind::kHost).value(), kernel.value());  // one instance
}

TEST(ReduceRegistry, PinnedHostMemoryHasTheCpuLoops) {
  auto kernel = reduce_kernel_for(MemoryKind::kCudaPinned);
  ASSERT_TRUE(kernel.ok()) << kernel.status().to_string();
  EXPECT_EQ(kernel.value()->memory(), MemoryKind::kCudaPinned);
  EXPECT_EQ(kernel.value()->name(), reduce_kernel_for(MemoryKind::kHost).value()->name());
  alignas(8) float data[4] = {1, 2, 3, 4};
  ASSERT_TRUE(kernel.value()->reduce(data, data + 2, 2, DataType::kFloat32, ReduceOp::kSum).ok());
  EXPECT_EQ(data[0], 4);
  EXPECT_EQ(data[1], 6);
}

TEST(ReduceRegistry, DeviceMemoryIsUnsupportedUntilRegistered) {
  auto kernel = reduce_kernel_for(MemoryKind::kCudaDevice);
  ASSERT_FALSE(kernel.ok());
  EXPECT_EQ(kernel.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(kernel.status().to_string().find("cuda"), std::string::npos);
}

// Stands in for a device kernel: it only records that it ran.
class FakeDeviceKernel final : public ReduceKernel {
 public:
  std::string_view name() const override { return "fake-device"; }
  MemoryKind memory() const override { return MemoryKind::kCudaDevice; }
  mutable size_t calls = 0;

 protected:
  Status reduce_checked(void*, const void*, const void*, size_t, DataType, ReduceOp) const override {
    ++calls;
    return ok_status();
  }
};

TEST(ReduceRegistry, RegisteredKernelIsFoundOnceAndChecked) {
  ASSERT_FALSE(reduce_kernel_for(MemoryKind::kCudaDevice).ok());
  auto fake = std::make_unique<FakeDeviceKernel>();
  const FakeDeviceKernel* registered = fake.get();
  ASSERT_TRUE(register_reduce_kernel(std::move(fake)).ok());
  auto found = reduce_kernel_for(MemoryKind::kCudaDevice);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found.value(), registered);

  // The base class checks arguments before a kernel sees them.
  alignas(8) float data[8] = {};
  EXPECT_TRUE(found.value()->reduce(data, data + 4, 4, DataType::kFloat32, ReduceOp::kSum).ok());
  EXPECT_EQ(found.value()->reduce(data, nullptr, 4, DataType::kFloat32, ReduceOp::kSum).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registered->calls, 1u);

  const Status again = register_reduce_kernel(std::make_unique<FakeDeviceKernel>());
  EXPECT_EQ(again.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(again.to_string().find("fake-device"), std::string::npos);
}

TEST(ReduceRegistry, RejectsNullAndASecondHostKernel) {
  EXPECT_EQ(register_reduce_kernel(nullptr).code(), StatusCode::kInvalidArgument);
  class HostKernel final : public ReduceKernel {
   public:
    std::string_view name() const override { return "other-host"; }
    MemoryKind memory() const override { return MemoryKind::kHost; }

   protected:
    Status reduce_checked(void*, const void*, const void*, size_t, DataType, ReduceOp) const override {
      return ok_status();
    }
  };
  EXPECT_EQ(register_reduce_kernel(std::make_unique<HostKernel>()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reduce_kernel_for(MemoryKind::kHost).value()->name().substr(0, 4), "cpu-");
}

}  // namespace
}  // namespace fb
