// The verbs transport's queue-pair knobs through the contract: several RC QPs per peer (qps),
// completions requested for only every Nth send work request (cq_mod), and both on a send
// queue small enough that it fills and must be refilled from completions.
#include <cstring>

#include "conformance.h"

namespace fb::conformance {
namespace {

class VerbsOptions : public TransportConformance {};

// Empty when this build has no verbs transport; SetUp() skips when no RDMA device is usable.
std::vector<std::string> verbs_if_built() {
  if (TransportRegistry::instance().find("verbs") == nullptr) return {};
  return {"verbs"};
}

constexpr size_t kPuts = 96;          // more than qps * sq_depth: the queues fill and drain
constexpr size_t kPutBytes = 5'003;   // odd: neighbours share no alignment
constexpr size_t kMessages = 40;

// Puts spread over the lanes land where they were aimed; gets read back the same; a flush
// covers every lane; meanwhile same-tag messages keep their order.
Status lanes_body(Rank& rank) {
  const int other = 1 - rank.rank();
  FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, other));
  FB_TRY_ASSIGN(auto window, allocate_host(kPuts * kPutBytes));
  FB_TRY_ASSIGN(auto source, allocate_host(kPuts * kPutBytes));
  FB_TRY_ASSIGN(auto readback, allocate_host(kPuts * kPutBytes));
  std::memset(window->data(), 0, window->size());
  FB_TRY_ASSIGN(auto window_region, rank.context.register_memory(window->span()));
  FB_TRY_ASSIGN(auto source_region, rank.context.register_memory(source->span()));
  FB_TRY_ASSIGN(auto readback_region, rank.context.register_memory(readback->span()));
  FB_TRY_ASSIGN(auto remote, exchange_regions(rank.context, rank.bootstrap, *window_region));

  std::vector<GuardedBuffer> messages;
  std::vector<Request> requests;
  for (size_t i = 0; i < kMessages; ++i) {
    FB_TRY_ASSIGN(auto buffer, GuardedBuffer::make(100 + i * 997));
    messages.push_back(std::move(buffer));
  }
  for (size_t i = 0; i < kPuts; ++i) {
    std::byte* from = source->bytes() + i * kPutBytes;
    fill({from, kPutBytes}, seed_for(kPutBytes, rank.rank(), static_cast<uint32_t>(i)));
    FB_TRY_ASSIGN(Request put, endpoint->put(from, kPutBytes, *source_region, *remote[other], i * kPutBytes));
    requests.push_back(put);
    if (i < kMessages) {
      GuardedBuffer& m = messages[i];
      if (rank.rank() == 0) {
        fill(m.span(), seed_for(m.size(), 0, static_cast<uint32_t>(i)));
        FB_TRY_ASSIGN(Request sent, endpoint->send(m.data(), m.size(), 7));
        requests.push_back(sent);
      } else {
        FB_TRY_ASSIGN(Request received, endpoint->recv(m.data(), m.size(), 7));
        requests.push_back(received);
      }
    }
  }
  FB_TRY_ASSIGN(Request flushed, endpoint->flush());
  requests.push_back(flushed);
  FB_TRY(wait_for_all(rank, requests, "puts, messages and flush over several QPs"));
  FB_TRY(sync_through_transport(rank));
  for (size_t i = 0; i < kPuts; ++i)
    FB_TRY(verify({window->bytes() + i * kPutBytes, kPutBytes}, seed_for(kPutBytes, other, static_cast<uint32_t>(i)),
                  "put " + std::to_string(i) + " (lane " + std::to_string(i % 4) + ")"));
  if (rank.rank() == 1)
    for (size_t i = 0; i < kMessages; ++i)
      FB_TRY(verify(messages[i].span(), seed_for(messages[i].size(), 0, static_cast<uint32_t>(i)),
                    "same-tag message " + std::to_string(i)));

  requests.clear();
  for (size_t i = 0; i < kPuts; ++i) {
    FB_TRY_ASSIGN(Request get, endpoint->get(readback->bytes() + i * kPutBytes, kPutBytes, *readback_region,
                                             *remote[other], i * kPutBytes));
    requests.push_back(get);
  }
  FB_TRY(wait_for_all(rank, requests, "gets over several QPs"));
  for (size_t i = 0; i < kPuts; ++i)
    FB_TRY(verify({readback->bytes() + i * kPutBytes, kPutBytes},
                  seed_for(kPutBytes, rank.rank(), static_cast<uint32_t>(i)), "get " + std::to_string(i)));
  FB_TRY(sync_through_transport(rank));
  const auto description = rank.context.describe();
  if (description.at("qp.per_peer") != rank.context.options().settings.at("qps"))
    return expectation_failed("describe() says qp.per_peer=" + description.at("qp.per_peer"));
  return {};
}

TEST_P(VerbsOptions, MultiQp) {
  run(2, lanes_body, TransportOptions{.settings = {{"qps", "4"}, {"sq_depth", "8"}}});
}

TEST_P(VerbsOptions, MultiQpWithCqModeration) {
  run(2, lanes_body, TransportOptions{.settings = {{"qps", "4"}, {"sq_depth", "8"}, {"cq_mod", "5"}}});
}

// One lane, completions every 16th WR: single operations waited for one at a time (the
// waiter must get a completion although its WR asked for none), and messages larger than
// all the send slots together (slots come back only through moderated completions).
TEST_P(VerbsOptions, CqModerationSingleOperations) {
  run(2, [](Rank& rank) -> Status {
    const int other = 1 - rank.rank();
    FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, other));
    FB_TRY_ASSIGN(auto window, allocate_host(4096));
    FB_TRY_ASSIGN(auto window_region, rank.context.register_memory(window->span()));
    FB_TRY_ASSIGN(auto remote, exchange_regions(rank.context, rank.bootstrap, *window_region));
    for (int i = 0; i < 20; ++i) {
      FB_TRY_ASSIGN(Request put, endpoint->put(window->data(), 64, *window_region, *remote[other], 128));
      FB_TRY(wait_for(rank, put, "single moderated put " + std::to_string(i)));
    }
    constexpr size_t kBig = 40 * 1024;  // 10 chunks of 4 KiB through 16 slots, twice
    for (uint32_t tag = 0; tag < 2; ++tag) {
      FB_TRY_ASSIGN(auto out, GuardedBuffer::make(kBig));
      FB_TRY_ASSIGN(auto in, GuardedBuffer::make(kBig));
      fill(out.span(), seed_for(kBig, rank.rank(), tag));
      std::array<Request, 2> requests{};
      FB_TRY_ASSIGN(requests[0], endpoint->recv(in.data(), kBig, tag));
      FB_TRY_ASSIGN(requests[1], endpoint->send(out.data(), kBig, tag));
      FB_TRY(wait_for_all(rank, requests, "moderated message"));
      FB_TRY(verify(in.span(), seed_for(kBig, other, tag), "moderated message"));
      FB_TRY(in.check_guards("moderated message"));
    }
    return sync_through_transport(rank);
  }, TransportOptions{.settings = {{"cq_mod", "16"}, {"sq_depth", "16"}, {"chunk", "4096"}}});
}

INSTANTIATE_TEST_SUITE_P(Verbs, VerbsOptions, ::testing::ValuesIn(verbs_if_built()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(VerbsOptions);

}  // namespace
}  // namespace fb::conformance
