// Two-sided messages: sizes across every protocol switch, odd addresses, tag matching order,
// many messages in flight and all-to-all traffic.
#include <array>

#include "conformance.h"

namespace fb::conformance {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// One message each way between ranks 0 and 1, both posted before either is waited on.
Status exchange(Rank& rank, size_t size, uint32_t tag, size_t send_misalign, size_t recv_misalign) {
  const int other = 1 - rank.rank();
  FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, other));
  FB_TRY_ASSIGN(auto out, GuardedBuffer::make(size, send_misalign));
  FB_TRY_ASSIGN(auto in, GuardedBuffer::make(size, recv_misalign));
  fill(out.span(), seed_for(size, rank.rank(), tag));
  const std::string what = std::to_string(size) + "-byte message (tag " + std::to_string(tag) + ")";
  std::array<Request, 2> requests{};
  FB_TRY_ASSIGN(requests[0], endpoint->recv(in.data(), size, tag));
  FB_TRY_ASSIGN(requests[1], endpoint->send(out.data(), size, tag));
  FB_TRY(wait_for_all(rank, requests, what));
  FB_TRY(verify(in.span(), seed_for(size, other, tag), what));
  FB_TRY(in.check_guards(what));
  return out.check_guards(what + " (send buffer)");
}

TEST_P(TransportConformance, SendRecvSizes) {
  if (!caps().send_recv) GTEST_SKIP() << "transport does not declare send_recv";
  run(2, [](Rank& rank) -> Status {
    const size_t sizes[] = {0, 1, 7, 8, 4095, 4096, 65537, kMiB, 4 * kMiB + 3};
    uint32_t tag = 0;
    for (size_t size : sizes) FB_TRY(exchange(rank, size, tag++, 0, 0));
    return {};
  });
}

TEST_P(TransportConformance, UnalignedBuffers) {
  if (!caps().send_recv) GTEST_SKIP() << "transport does not declare send_recv";
  run(2, [](Rank& rank) -> Status {
    const size_t sizes[] = {1, 7, 13, 4095, 65537, kMiB + 5};
    uint32_t tag = 0;
    for (size_t size : sizes) {
      FB_TRY(exchange(rank, size, tag++, 3, 5));
      FB_TRY(exchange(rank, size, tag++, 1, 7));
    }
    return {};
  });
}

// A message for each of several tags, in a mix of sizes so eager and rendezvous protocols
// interleave.
struct Message {
  uint32_t tag;
  size_t size;
};
constexpr std::array<Message, 4> kMessages{{{1, 8}, {2, 65536 + 1}, {3, 17}, {4, 300'000}}};

// The sender posts in `send_order`; the receiver posts in `post_order` and completes in
// `wait_order`. With `recv_first` the receives are posted before any send, else after all.
Status out_of_order(Rank& rank, int sender, bool recv_first, std::array<int, 4> send_order,
                    std::array<int, 4> post_order, std::array<int, 4> wait_order) {
  const bool sending = rank.rank() == sender;
  FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, 1 - rank.rank()));
  std::vector<GuardedBuffer> buffers;
  for (const Message& m : kMessages) {
    FB_TRY_ASSIGN(auto buffer, GuardedBuffer::make(m.size));
    if (sending) fill(buffer.span(), seed_for(m.size, sender, m.tag));
    buffers.push_back(std::move(buffer));
  }
  std::array<Request, 4> requests{};
  auto post = [&](std::array<int, 4> order) -> Status {
    for (int i : order) {
      const Message& m = kMessages[i];
      FB_TRY_ASSIGN(requests[i], sending ? endpoint->send(buffers[i].data(), m.size, m.tag)
                                         : endpoint->recv(buffers[i].data(), m.size, m.tag));
    }
    return {};
  };
  if (sending != recv_first) FB_TRY(post(sending ? send_order : post_order));
  FB_TRY(rank.bootstrap.barrier());
  if (sending == recv_first) FB_TRY(post(sending ? send_order : post_order));
  for (int i : wait_order) {
    const std::string what = "tag " + std::to_string(kMessages[i].tag) +
                             (recv_first ? " (receive posted first)" : " (send posted first)");
    FB_TRY(wait_for(rank, requests[i], what));
    if (sending) continue;
    FB_TRY(verify(buffers[i].span(), seed_for(kMessages[i].size, sender, kMessages[i].tag), what));
    FB_TRY(buffers[i].check_guards(what));
  }
  return {};
}

TEST_P(TransportConformance, TagsCompleteOutOfOrder) {
  if (!caps().send_recv) GTEST_SKIP() << "transport does not declare send_recv";
  run(2, [](Rank& rank) -> Status {
    FB_TRY(out_of_order(rank, 0, true, {3, 1, 2, 0}, {0, 1, 2, 3}, {2, 0, 3, 1}));
    FB_TRY(out_of_order(rank, 1, false, {0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}));
    return {};
  });
}

// Messages with the same tag match in the order they were sent.
TEST_P(TransportConformance, SameTagMatchesInOrder) {
  if (!caps().send_recv) GTEST_SKIP() << "transport does not declare send_recv";
  run(2, [](Rank& rank) -> Status {
    constexpr uint32_t kTag = 42;
    const std::array<size_t, 4> sizes{100, 100'000, 5, 300'000};
    FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, 1 - rank.rank()));
    std::vector<GuardedBuffer> buffers;
    std::vector<Request> requests(sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) {
      FB_TRY_ASSIGN(auto buffer, GuardedBuffer::make(sizes[i]));
      buffers.push_back(std::move(buffer));
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (rank.rank() == 0) {
        fill(buffers[i].span(), seed_for(sizes[i], 0, static_cast<uint32_t>(i)));
        FB_TRY_ASSIGN(requests[i], endpoint->send(buffers[i].data(), sizes[i], kTag));
      } else {
        FB_TRY_ASSIGN(requests[i], endpoint->recv(buffers[i].data(), sizes[i], kTag));
      }
    }
    FB_TRY(wait_for_all(rank, requests, "same-tag message"));
    if (rank.rank() == 0) return {};
    for (size_t i = 0; i < sizes.size(); ++i)
      FB_TRY(verify(buffers[i].span(), seed_for(sizes[i], 0, static_cast<uint32_t>(i)),
                    "same-tag message " + std::to_string(i)));
    return {};
  });
}

// A window of messages in flight in both directions at once, several rounds.
TEST_P(TransportConformance, WindowInBothDirections) {
  if (!caps().send_recv) GTEST_SKIP() << "transport does not declare send_recv";
  run(2, [](Rank& rank) -> Status {
    constexpr int kWindow = 64;
    constexpr int kRounds = 4;
    const size_t sizes[] = {1, 64, 1000, 8192, 9000, 70'000};
    const int other = 1 - rank.rank();
    FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, other));
    for (int round = 0; round < kRounds; ++round) {
      std::vector<GuardedBuffer> in, out;
      std::vector<Request> requests(2 * kWindow);
      for (int i = 0; i < kWindow; ++i) {
        const size_t size = sizes[i % std::size(sizes)] + round;
        const auto tag = static_cast<uint32_t>(round * kWindow + i);
        FB_TRY_ASSIGN(auto received, GuardedBuffer::make(size));
        FB_TRY_ASSIGN(auto sent, GuardedBuffer::make(size));
        fill(sent.span(), seed_for(size, rank.rank(), tag));
        FB_TRY_ASSIGN(requests[2 * i], endpoint->recv(received.data(), size, tag));
        FB_TRY_ASSIGN(requests[2 * i + 1], endpoint->send(sent.data(), size, tag));
        in.push_back(std::move(received));
        out.push_back(std::move(sent));
      }
      FB_TRY(wait_for_all(rank, requests, "message in a window of " + std::to_string(kWindow)));
      for (int i = 0; i < kWindow; ++i) {
        const auto tag = static_cast<uint32_t>(round * kWindow + i);
        const std::string what = "window message " + std::to_string(tag);
        FB_TRY(verify(in[i].span(), seed_for(in[i].size(), other, tag), what));
        FB_TRY(in[i].check_guards(what));
      }
    }
    return {};
  });
}

TEST_P(TransportConformance, AllToAllFourRanks) {
  if (!caps().send_recv) GTEST_SKIP() << "transport does not declare send_recv";
  run(4, [](Rank& rank) -> Status {
    // A small and a rendezvous-sized message per ordered pair, sizes unique to the pair.
    auto size_of = [](int from, int to, uint32_t tag) -> size_t {
      return tag == 0 ? 100 * from + to + 1 : 256 * 1024 + 7 * from + to;
    };
    std::vector<GuardedBuffer> in, out;
    std::vector<Request> requests;
    std::vector<std::pair<int, uint32_t>> sources;
    for (int other = 0; other < rank.size(); ++other) {
      if (other == rank.rank()) continue;
      FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, other));
      for (uint32_t tag : {0u, 1u}) {
        FB_TRY_ASSIGN(auto received, GuardedBuffer::make(size_of(other, rank.rank(), tag)));
        FB_TRY_ASSIGN(auto sent, GuardedBuffer::make(size_of(rank.rank(), other, tag)));
        fill(sent.span(), seed_for(sent.size(), rank.rank(), tag));
        FB_TRY_ASSIGN(Request r, endpoint->recv(received.data(), received.size(), tag));
        FB_TRY_ASSIGN(Request s, endpoint->send(sent.data(), sent.size(), tag));
        requests.push_back(r);
        requests.push_back(s);
        sources.emplace_back(other, tag);
        in.push_back(std::move(received));
        out.push_back(std::move(sent));
      }
    }
    FB_TRY(wait_for_all(rank, requests, "all-to-all message"));
    for (size_t i = 0; i < in.size(); ++i) {
      const auto [from, tag] = sources[i];
      const std::string what =
          "message from rank " + std::to_string(from) + " (tag " + std::to_string(tag) + ")";
      FB_TRY(verify(in[i].span(), seed_for(in[i].size(), from, tag), what));
      FB_TRY(in[i].check_guards(what));
    }
    return {};
  });
}

}  // namespace
}  // namespace fb::conformance
