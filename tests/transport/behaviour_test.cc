// Errors, deadlines, progress modes and self-description.
#include <array>

#include "conformance.h"

namespace fb::conformance {
namespace {

using std::chrono::milliseconds;

// Rank 0 sends `sent` bytes, rank 1 receives into `capacity` bytes, the receive posted before
// or after the message arrives. The receiver must see an error, not success and not a hang.
Status truncated(Rank& rank, size_t sent, size_t capacity, uint32_t tag, bool recv_first) {
  FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, 1 - rank.rank()));
  FB_TRY_ASSIGN(auto buffer, GuardedBuffer::make(rank.rank() == 0 ? sent : capacity));
  const std::string what = std::to_string(sent) + "-byte message into a " + std::to_string(capacity) +
                           "-byte receive" + (recv_first ? " posted first" : " posted late");
  if (rank.rank() == 0) {
    fill(buffer.span(), seed_for(sent, 0, tag));
    FB_TRY(rank.bootstrap.barrier());
    FB_TRY_ASSIGN(Request send, endpoint->send(buffer.data(), sent, tag));
    // The sender's view of a truncated delivery is not specified; it must only finish.
    (void)wait_for(rank, send, what);
    return rank.bootstrap.barrier();
  }
  Expected<Request> posted = Request{};
  if (recv_first) posted = endpoint->recv(buffer.data(), capacity, tag);
  FB_TRY(rank.bootstrap.barrier());
  if (!recv_first) {
    // Let the message arrive before the receive is posted.
    for (auto until = Clock::now() + milliseconds(50); Clock::now() < until;) FB_TRY(rank.context.progress());
    posted = endpoint->recv(buffer.data(), capacity, tag);
  }
  Status outcome = posted.ok() ? wait_for(rank, posted.value(), what) : posted.status();
  FB_TRY(buffer.check_guards(what));
  FB_TRY(rank.bootstrap.barrier());
  if (outcome.ok()) return expectation_failed(what + " was reported as a success");
  if (outcome.code() == StatusCode::kTimeout)
    return expectation_failed(what + " never completed: " + outcome.to_string());
  return {};
}

TEST_P(TransportConformance, TruncatedReceiveIsAnError) {
  if (!caps().send_recv) GTEST_SKIP() << "transport does not declare send_recv";
  run(2, [](Rank& rank) -> Status {
    FB_TRY(truncated(rank, 64, 16, 1, true));
    FB_TRY(truncated(rank, 64, 16, 2, false));
    FB_TRY(truncated(rank, 1 << 20, 1024, 3, true));
    FB_TRY(truncated(rank, 1 << 20, 1024, 4, false));
    // The context stays usable afterwards.
    return sync_through_transport(rank);
  });
}

// A receive nobody sends to times out with kTimeout at a short deadline, and still completes
// once its message comes.
Status late_message(Rank& rank) {
  constexpr uint32_t kTag = 9;
  constexpr size_t kSize = 32;
  FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, 1 - rank.rank()));
  FB_TRY_ASSIGN(auto buffer, GuardedBuffer::make(kSize));
  if (rank.rank() == 0) {
    fill(buffer.span(), seed_for(kSize, 0, kTag));
    FB_TRY(rank.bootstrap.barrier());
    FB_TRY_ASSIGN(Request send, endpoint->send(buffer.data(), kSize, kTag));
    return wait_for(rank, send, "late message");
  }
  FB_TRY_ASSIGN(Request recv, endpoint->recv(buffer.data(), kSize, kTag));
  const auto start = Clock::now();
  Status early = wait(rank.context, recv, Deadline::after(milliseconds(50)), "receive nobody sent yet");
  const auto waited = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  if (early.code() != StatusCode::kTimeout)
    return expectation_failed("waiting past the deadline gave '" + early.debug_string() + "', not a timeout");
  if (waited > milliseconds(2000))
    return expectation_failed("a 50 ms deadline returned after " + std::to_string(waited.count()) + " ms");
  FB_TRY(rank.bootstrap.barrier());
  FB_TRY(wait_for(rank, recv, "late message"));
  return verify(buffer.span(), seed_for(kSize, 0, kTag), "late message");
}

TEST_P(TransportConformance, UnfinishedRequestTimesOut) {
  if (!caps().send_recv) GTEST_SKIP() << "transport does not declare send_recv";
  run(2, late_message);
}

TEST_P(TransportConformance, UnfinishedRequestTimesOutInEventMode) {
  if (!caps().send_recv) GTEST_SKIP() << "transport does not declare send_recv";
  if (!caps().event_wait) GTEST_SKIP() << "transport does not declare event_wait";
  run(2, late_message, TransportOptions{.progress = ProgressMode::kEvent});
}

// Ping-pong and bulk exchange sleeping on the transport's event channel. A lost wakeup shows
// as a ping-pong that crawls at the sleep cap rather than as a failure, hence the time limit.
TEST_P(TransportConformance, EventProgressSendRecv) {
  if (!caps().send_recv) GTEST_SKIP() << "transport does not declare send_recv";
  if (!caps().event_wait) GTEST_SKIP() << "transport does not declare event_wait";
  run(2, [](Rank& rank) -> Status {
    constexpr int kRoundTrips = 200;
    constexpr size_t kSize = 8;
    FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, 1 - rank.rank()));
    FB_TRY_ASSIGN(auto buffer, GuardedBuffer::make(kSize));
    const auto start = Clock::now();
    for (int i = 0; i < kRoundTrips; ++i) {
      const auto tag = static_cast<uint32_t>(i);
      const bool my_turn = (i % 2) == rank.rank();
      if (my_turn) {
        fill(buffer.span(), seed_for(kSize, rank.rank(), tag));
        FB_TRY_ASSIGN(Request send, endpoint->send(buffer.data(), kSize, tag));
        FB_TRY(wait_for(rank, send, "ping"));
      } else {
        FB_TRY_ASSIGN(Request recv, endpoint->recv(buffer.data(), kSize, tag));
        FB_TRY(wait_for(rank, recv, "ping"));
        FB_TRY(verify(buffer.span(), seed_for(kSize, 1 - rank.rank(), tag), "ping " + std::to_string(i)));
      }
    }
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    if (took > milliseconds(5000))
      return expectation_failed(std::to_string(kRoundTrips) + " event-mode messages took " +
                                std::to_string(took.count()) + " ms: wakeups are being missed");
    for (size_t size : {size_t{0}, size_t{4096}, size_t{65537}, size_t{1} << 20}) {
      FB_TRY_ASSIGN(auto out, GuardedBuffer::make(size));
      FB_TRY_ASSIGN(auto in, GuardedBuffer::make(size));
      const uint32_t tag = 1000 + static_cast<uint32_t>(size % 997);
      fill(out.span(), seed_for(size, rank.rank(), tag));
      std::array<Request, 2> requests{};
      FB_TRY_ASSIGN(requests[0], endpoint->recv(in.data(), size, tag));
      FB_TRY_ASSIGN(requests[1], endpoint->send(out.data(), size, tag));
      FB_TRY(wait_for_all(rank, requests, "event-mode message"));
      FB_TRY(verify(in.span(), seed_for(size, 1 - rank.rank(), tag), "event-mode message"));
    }
    return {};
  }, TransportOptions{.progress = ProgressMode::kEvent});
}

// wait_sleeping() under the default (poll) progress, as the passive side of one-sided
// benchmarks uses it: every message is waited for asleep. A lost wakeup shows as a ping-pong
// crawling at the transport's sleep cap, hence the time limit; a receive nobody sends to must
// still time out, and complete once its message comes.
TEST_P(TransportConformance, SleepingWaitUnderPollProgress) {
  if (!caps().send_recv) GTEST_SKIP() << "transport does not declare send_recv";
  run(2, [](Rank& rank) -> Status {
    constexpr int kRoundTrips = 200;
    constexpr size_t kSize = 8;
    FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, 1 - rank.rank()));
    FB_TRY_ASSIGN(auto buffer, GuardedBuffer::make(kSize));
    const auto start = Clock::now();
    for (int i = 0; i < kRoundTrips; ++i) {
      const auto tag = static_cast<uint32_t>(i);
      if ((i % 2) == rank.rank()) {
        fill(buffer.span(), seed_for(kSize, rank.rank(), tag));
        FB_TRY_ASSIGN(Request send, endpoint->send(buffer.data(), kSize, tag));
        FB_TRY(wait_sleeping(rank.context, send, kTimeout, "ping"));
      } else {
        FB_TRY_ASSIGN(Request recv, endpoint->recv(buffer.data(), kSize, tag));
        FB_TRY(wait_sleeping(rank.context, recv, kTimeout, "ping"));
        FB_TRY(verify(buffer.span(), seed_for(kSize, 1 - rank.rank(), tag), "ping " + std::to_string(i)));
      }
    }
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    if (took > milliseconds(5000))
      return expectation_failed(std::to_string(kRoundTrips) + " messages waited for asleep took " +
                                std::to_string(took.count()) + " ms: wakeups are being missed");

    constexpr uint32_t kLateTag = 7777;
    if (rank.rank() == 0) {
      fill(buffer.span(), seed_for(kSize, 0, kLateTag));
      FB_TRY(rank.bootstrap.barrier());
      FB_TRY_ASSIGN(Request send, endpoint->send(buffer.data(), kSize, kLateTag));
      return wait_sleeping(rank.context, send, kTimeout, "late message");
    }
    FB_TRY_ASSIGN(Request recv, endpoint->recv(buffer.data(), kSize, kLateTag));
    const auto asleep = Clock::now();
    Status early = wait_sleeping(rank.context, recv, milliseconds(50), "receive nobody sent yet");
    const auto waited = std::chrono::duration_cast<milliseconds>(Clock::now() - asleep);
    if (early.code() != StatusCode::kTimeout)
      return expectation_failed("sleeping past the deadline gave '" + early.debug_string() + "', not a timeout");
    if (waited > milliseconds(2000))
      return expectation_failed("a 50 ms deadline returned after " + std::to_string(waited.count()) + " ms");
    FB_TRY(rank.bootstrap.barrier());
    FB_TRY(wait_sleeping(rank.context, recv, kTimeout, "late message"));
    return verify(buffer.span(), seed_for(kSize, 0, kLateTag), "late message");
  });
}

// A rank that drops its context without close() (as on an error path) must not hang itself
// in the destructor, nor its peer in close(); the peer's close() may report the loss.
TEST_P(TransportConformance, AbandonedContextDoesNotHang) {
  if (!caps().send_recv) GTEST_SKIP() << "transport does not declare send_recv";
  const auto start = Clock::now();
  run(2, [](Rank& rank) -> Status {
    FB_TRY(sync_through_transport(rank));
    rank.close_after = false;
    if (rank.rank() == 0) (void)rank.context.close();
    return {};
  });
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
}

TEST_P(TransportConformance, DescribesItself) {
  if (info().library_versions) {
    for (const auto& [library, version] : info().library_versions())
      EXPECT_FALSE(library.empty() || version.empty())
          << "library '" << library << "' version '" << version << "'";
  }
  run(2, [](Rank& rank) -> Status {
    FB_TRY(peer(rank, 1 - rank.rank()).status());
    const auto description = rank.context.describe();
    if (description.empty()) return expectation_failed("describe() returned nothing");
    for (const auto& [key, value] : description)
      if (key.empty()) return expectation_failed("describe() has an empty key (value '" + value + "')");
    return {};
  });
}

TEST_P(TransportConformance, ConnectRejectsUnknownRanks) {
  run(2, [](Rank& rank) -> Status {
    for (int bad : {-1, rank.size(), rank.size() + 5})
      if (rank.context.connect(bad).ok())
        return expectation_failed("connect(" + std::to_string(bad) + ") succeeded in a job of " +
                                  std::to_string(rank.size()) + " ranks");
    if (rank.context.rank() != rank.rank() || rank.context.size() != rank.size())
      return expectation_failed("the context's rank/size differ from the bootstrap's");
    return {};
  });
}

}  // namespace
}  // namespace fb::conformance
