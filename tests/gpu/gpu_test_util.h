// Shared by the GPU tests: a fixture that skips, with the runtime's reason, where no device is
// visible, and helpers to move test data between host and device.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "cuda_handles.h"
#include "fabricbench/transport/memory.h"

namespace fb::testing {

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto devices = cuda::visible_device_count();
    if (!devices.ok()) GTEST_SKIP() << devices.status().to_string();
  }
};

// Allocation that must succeed in a test; fails the test (and returns null) otherwise.
inline std::unique_ptr<Buffer> must_allocate(MemoryKind kind, size_t bytes) {
  auto buffer = allocate(kind, bytes);
  EXPECT_TRUE(buffer.ok()) << to_string(kind) << " " << bytes << " bytes: " << buffer.status().to_string();
  return buffer.ok() ? std::move(buffer).value() : nullptr;
}

inline MemorySpan host_span(void* data, size_t bytes) { return {data, bytes, MemoryKind::kHost}; }
inline MemorySpan host_span(const void* data, size_t bytes) {
  return {const_cast<void*>(data), bytes, MemoryKind::kHost};
}

// The span of `bytes` starting `offset` bytes into a buffer.
inline MemorySpan sub_span(const Buffer& buffer, size_t offset, size_t bytes) {
  return {buffer.bytes() + offset, bytes, buffer.kind()};
}

}  // namespace fb::testing
