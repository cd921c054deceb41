// What the CUDA part does on any host, GPU or not: it registers its kernel and memory kinds at
// load time without touching the device, checks arguments before any CUDA call, and turns a
// missing device into an error value that names what was asked for.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "cuda_handles.h"
#include "cuda_reduce_kernel.h"
#include "fabricbench/collectives/reduce.h"
#include "fabricbench/transport/memory.h"

namespace fb {
namespace {

bool has_gpu() { return cuda::visible_device_count().ok(); }

TEST(CudaRegistration, DeviceMemoryHasTheCudaKernel) {
  auto kernel = reduce_kernel_for(MemoryKind::kCudaDevice);
  ASSERT_TRUE(kernel.ok()) << kernel.status().to_string();
  EXPECT_EQ(kernel.value()->name(), "cuda");
  EXPECT_EQ(kernel.value()->memory(), MemoryKind::kCudaDevice);
  EXPECT_EQ(reduce_kernel_for(MemoryKind::kHost).value()->memory(), MemoryKind::kHost);
}

TEST(CudaRegistration, ASecondCudaKernelIsRejected) {
  const Status again = register_reduce_kernel(cuda::make_cuda_reduce_kernel());
  EXPECT_EQ(again.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(again.to_string().find("'cuda'"), std::string::npos) << again.to_string();
}

TEST(CudaRegistration, ArgumentsAreCheckedBeforeTheDevice) {
  const ReduceKernel& kernel = *reduce_kernel_for(MemoryKind::kCudaDevice).value();
  alignas(16) float data[8] = {};
  EXPECT_EQ(kernel.reduce(data, nullptr, 4, DataType::kFloat32, ReduceOp::kSum).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(kernel.reduce(data, data + 2, data + 4, 4, DataType::kFloat32, ReduceOp::kSum).code(),
            StatusCode::kInvalidArgument);  // out partly overlaps a
  EXPECT_TRUE(kernel.reduce(data, data, 0, DataType::kFloat32, ReduceOp::kSum).ok());
  EXPECT_TRUE(kernel.copy(data, data + 4, 0).ok());
}

TEST(CudaRegistration, HostKernelCopiesAndTheDefaultCopyIsUnsupported) {
  const ReduceKernel& host = *reduce_kernel_for(MemoryKind::kHost).value();
  const std::vector<int> from{1, 2, 3, 4, 5};
  std::vector<int> to(5, 0);
  ASSERT_TRUE(host.copy(to.data(), from.data(), 5 * sizeof(int)).ok());
  EXPECT_EQ(to, from);
  EXPECT_TRUE(host.copy(nullptr, nullptr, 0).ok());

  class NoCopyKernel final : public ReduceKernel {
   public:
    std::string_view name() const override { return "no-copy"; }
    MemoryKind memory() const override { return MemoryKind::kCudaPinned; }

   protected:
    Status reduce_checked(void*, const void*, const void*, size_t, DataType, ReduceOp) const override {
      return ok_status();
    }
  };
  const Status status = NoCopyKernel().copy(to.data(), from.data(), 8);
  EXPECT_EQ(status.code(), StatusCode::kUnsupported);
  EXPECT_NE(status.to_string().find("'no-copy'"), std::string::npos) << status.to_string();
}

// The behaviour of a host without a usable device; skipped where there is one.
TEST(CudaWithoutDevice, CountIsUnavailableWithTheReason) {
  auto count = cuda::visible_device_count();
  if (count.ok()) GTEST_SKIP() << count.value() << " CUDA device(s) visible";
  EXPECT_EQ(count.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(count.status().to_string().rfind("no CUDA device visible: ", 0), 0u) << count.status().to_string();
}

TEST(CudaWithoutDevice, AllocationAndCopiesFailWithTheirSize) {
  if (has_gpu()) GTEST_SKIP() << "a CUDA device is visible";
  auto device = allocate(MemoryKind::kCudaDevice, 4096, AllocOptions{.device = 0});
  ASSERT_FALSE(device.ok());
  EXPECT_NE(device.status().to_string().find("4096 bytes on CUDA device 0"), std::string::npos)
      << device.status().to_string();
  auto pinned = allocate(MemoryKind::kCudaPinned, 123);
  ASSERT_FALSE(pinned.ok());
  EXPECT_NE(pinned.status().to_string().find("123 bytes"), std::string::npos) << pinned.status().to_string();

  std::vector<char> host(64);
  const Status copy = copy_memory({host.data(), 64, MemoryKind::kCudaDevice}, {host.data() + 0, 64}, 64);
  EXPECT_FALSE(copy.ok());
  EXPECT_NE(copy.to_string().find("64 bytes from host to cuda memory"), std::string::npos) << copy.to_string();

  const ReduceKernel& kernel = *reduce_kernel_for(MemoryKind::kCudaDevice).value();
  alignas(16) float data[8] = {};
  EXPECT_FALSE(kernel.reduce(data, data + 4, 4, DataType::kFloat32, ReduceOp::kSum).ok());
  EXPECT_FALSE(kernel.copy(data, data + 4, 16).ok());
}

}  // namespace
}  // namespace fb
