#include "cuda_ipc_test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "bootstrap/local_bootstrap.h"

namespace fb::cuda_ipc_tests {
namespace {

std::string ask_in_child() {
  int fds[2];
  if (::pipe(fds) != 0) return "cannot ask whether cuda-ipc is usable: pipe failed";
  const pid_t child = ::fork();
  if (child < 0) return "cannot ask whether cuda-ipc is usable: fork failed";
  if (child == 0) {
    ::close(fds[0]);
    std::string why;
    const TransportInfo* info = TransportRegistry::instance().find("cuda-ipc");
    if (info == nullptr)
      why = "transport 'cuda-ipc' is not built in";
    else if (Status usable = info->probe(); !usable.ok())
      why = "cuda-ipc is not usable here: " + usable.to_string();
    (void)!::write(fds[1], why.data(), why.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string why;
  char chunk[256];
  for (ssize_t got; (got = ::read(fds[0], chunk, sizeof(chunk))) > 0;) why.append(chunk, static_cast<size_t>(got));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "the process asking whether cuda-ipc is usable " + describe_wait_status(status);
  return why;
}

}  // namespace

const std::string& unusable_reason() {
  static const std::string reason = ask_in_child();
  return reason;
}

::testing::AssertionResult run_job(int ranks, const RankBody& body, TransportOptions options, bool close) {
  options.timeout = kTimeout;
  LocalLaunchOptions launch;
  launch.np = ranks;
  launch.timeout = kTimeout;
  launch.abort_grace = std::chrono::milliseconds(2000);
  const LocalLaunchResult result = launch_local(launch, [&](Bootstrap& bootstrap) {
    Status outcome = [&]() -> Status {
      FB_TRY_ASSIGN(auto context, open_transport("cuda-ipc", bootstrap, options));
      FB_TRY(body(*context, bootstrap));
      if (close) FB_TRY(context->close());
      return {};
    }();
    if (outcome.ok()) return 0;
    std::fprintf(stderr, "[rank %d of %d] %s\n", bootstrap.rank(), ranks, outcome.debug_string().c_str());
    return 1;
  });
  if (result.status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << result.status.to_string() << " (each rank's error is printed above)";
}

Status expect(bool holds, const std::string& what) {
  if (holds) return {};
  return Status::error(StatusCode::kDataCorruption, what, FB_HERE);
}

Status expect_error(const Status& status, StatusCode code, const std::vector<std::string>& needles) {
  if (status.ok()) return Status::error(StatusCode::kInternal, "an expected error did not happen", FB_HERE);
  bool fits = status.code() == code;
  for (const std::string& needle : needles) fits = fits && status.message().find(needle) != std::string::npos;
  if (fits) return {};
  return Status::error(StatusCode::kInternal,
                       "expected a " + std::string(to_string(code)) + " error, got: " + status.debug_string(),
                       FB_HERE);
}

Expected<std::unique_ptr<Buffer>> device_buffer(size_t bytes) { return allocate(MemoryKind::kCudaDevice, bytes); }

Status to_device(const Buffer& buffer, size_t offset, const std::vector<std::byte>& data) {
  return copy_memory({buffer.bytes() + offset, buffer.size() - offset, buffer.kind()},
                     {const_cast<std::byte*>(data.data()), data.size(), MemoryKind::kHost}, data.size());
}

Expected<std::vector<std::byte>> from_device(const Buffer& buffer, size_t offset, size_t bytes) {
  std::vector<std::byte> data(bytes);
  FB_TRY(copy_memory({data.data(), bytes, MemoryKind::kHost},
                     {buffer.bytes() + offset, buffer.size() - offset, buffer.kind()}, bytes));
  return data;
}

std::vector<std::byte> pattern(size_t bytes, int from, int to, uint32_t salt) {
  std::vector<std::byte> data(bytes);
  uint32_t x = salt * 2654435761u + static_cast<uint32_t>(from) * 40503u + static_cast<uint32_t>(to) * 69069u + 1;
  for (auto& b : data) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<std::byte>(x >> 24);
  }
  return data;
}

}  // namespace fb::cuda_ipc_tests
