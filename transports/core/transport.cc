#include "fabricbench/transport/transport.h"

#include <sched.h>

#include <algorithm>
#include <climits>

namespace fb {

int Deadline::poll_timeout_ms() const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at_ - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, INT_MAX));
}

const char* to_string(ProgressMode mode) {
  switch (mode) {
    case ProgressMode::kPoll: return "poll";
    case ProgressMode::kEvent: return "event";
    case ProgressMode::kYield: return "yield";
  }
  return "?";
}

namespace {
Status no_put_imm(SourcePlace where) {
  return Status::error(StatusCode::kUnsupported,
                       "this transport has no put with immediate data (Capabilities::put_imm is false; the "
                       "verbs transport has it): use put() and let the target poll its memory",
                       where);
}
}  // namespace

Expected<Request> Endpoint::put_imm(const void* /*data*/, size_t /*bytes*/, const MemRegion& /*local*/,
                                    const RemoteRegion& /*remote*/, size_t /*remote_offset*/, uint32_t /*imm*/) {
  return no_put_imm(FB_HERE);
}

Expected<Request> Endpoint::recv_imm(uint32_t* /*imm*/) { return no_put_imm(FB_HERE); }

Status Context::wait_for_activity(const Deadline& /*deadline*/) {
  sched_yield();
  return {};
}

namespace {
// Reading the clock costs more than a progress pass on fast transports: check it rarely.
constexpr unsigned kSpinsPerClockRead = 256;

Status timed_out(const Context& context, const Deadline& deadline, std::string_view what) {
  return Status::error(StatusCode::kTimeout,
                       "rank " + std::to_string(context.rank()) + ": " + std::string(what) +
                           " did not complete within " + std::to_string(deadline.budget().count()) +
                           " ms (is the peer alive? raise --timeout for slow links)",
                       FB_HERE);
}
}  // namespace

Status wait(Context& context, Request& request, const Deadline& deadline, std::string_view what) {
  const bool sleep = context.options().progress == ProgressMode::kEvent;
  const bool yield = context.options().progress == ProgressMode::kYield;
  for (unsigned spin = 1;; ++spin) {
    FB_TRY_ASSIGN(const bool done, context.test(request));
    if (done) return {};
    if (yield) sched_yield();
    if (sleep) {
      FB_TRY(context.wait_for_activity(deadline));
      if (deadline.expired()) return timed_out(context, deadline, what);
    } else if (spin % kSpinsPerClockRead == 0 && deadline.expired()) {
      return timed_out(context, deadline, what);
    }
  }
}

Status wait(Context& context, Request& request, std::chrono::milliseconds timeout, std::string_view what) {
  for (unsigned spin = 0; spin < kSpinsPerClockRead; ++spin) {
    FB_TRY_ASSIGN(const bool done, context.test(request));
    if (done) return {};
  }
  return wait(context, request, Deadline::after(timeout), what);
}

Status wait_sleeping(Context& context, Request& request, std::chrono::milliseconds timeout,
                     std::string_view what) {
  FB_TRY_ASSIGN(bool done, context.test(request));
  if (done) return {};
  const Deadline deadline = Deadline::after(timeout);
  for (;;) {
    FB_TRY(context.wait_for_activity(deadline));
    FB_TRY_ASSIGN(done, context.test(request));
    if (done) return {};
    if (deadline.expired()) return timed_out(context, deadline, what);
  }
}

Status wait_all(Context& context, std::span<Request> requests, const Deadline& deadline,
                std::string_view what) {
  for (Request& request : requests) FB_TRY(wait(context, request, deadline, what));
  return {};
}

Expected<std::vector<std::unique_ptr<RemoteRegion>>> exchange_regions(Context& context,
                                                                      Bootstrap& bootstrap,
                                                                      const MemRegion& local) {
  FB_TRY_ASSIGN(auto packed, bootstrap.allgather(local.pack()));
  std::vector<std::unique_ptr<RemoteRegion>> remote(packed.size());
  for (int peer = 0; peer < static_cast<int>(packed.size()); ++peer) {
    if (peer == context.rank()) continue;
    FB_TRY_ASSIGN(remote[peer], context.import_region(peer, packed[peer]));
  }
  return remote;
}

}  // namespace fb
