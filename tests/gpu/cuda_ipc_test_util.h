// For the cuda-ipc tests: ranks are forked processes sharing the GPU, so the test process
// itself must never initialise CUDA (a child forked after that could not use it). Whether
// cuda-ipc can run is therefore asked in a short-lived child, and everything CUDA happens in
// the ranks. A rank reports a failure by printing it and exiting non-zero.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fabricbench/transport/registry.h"
#include "fabricbench/transport/transport.h"

namespace fb::cuda_ipc_tests {

inline constexpr std::chrono::milliseconds kTimeout{30'000};

// Why cuda-ipc cannot run here (not built, no device, no driver), or empty. Asked once per
// process, in a forked child.
const std::string& unusable_reason();

#define SKIP_WITHOUT_CUDA_IPC()                                                      \
  do {                                                                               \
    if (const std::string& why = ::fb::cuda_ipc_tests::unusable_reason(); !why.empty()) \
      GTEST_SKIP() << why;                                                           \
  } while (0)

using RankBody = std::function<Status(Context& context, Bootstrap& bootstrap)>;

// Forks `ranks` processes; each opens cuda-ipc, runs `body` and closes the context (unless
// `close` is false). Success when every rank did so.
::testing::AssertionResult run_job(int ranks, const RankBody& body, TransportOptions options = {},
                                   bool close = true);

// kDataCorruption with `what` unless `holds`.
Status expect(bool holds, const std::string& what);
// That `status` failed with `code` and mentions every needle.
Status expect_error(const Status& status, StatusCode code, const std::vector<std::string>& needles);

// Device memory, and synchronous copies between it and host vectors.
Expected<std::unique_ptr<Buffer>> device_buffer(size_t bytes);
Status to_device(const Buffer& buffer, size_t offset, const std::vector<std::byte>& data);
Expected<std::vector<std::byte>> from_device(const Buffer& buffer, size_t offset, size_t bytes);

// Bytes that differ with every argument, so a misplaced or stale message shows.
std::vector<std::byte> pattern(size_t bytes, int from, int to, uint32_t salt);

}  // namespace fb::cuda_ipc_tests
