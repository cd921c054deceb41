// The verbs transport with its QPs connected by librdmacm (rdma_cm=1): three ranks, so that
// every rank both connects (to higher ranks) and accepts (from lower ones), and its QP to
// itself stays connected without the CM; then messages, puts and gets between every pair go
// over those QPs exactly as over bootstrap-connected ones.
#include <cstring>

#include "conformance.h"

namespace fb::conformance {
namespace {

class VerbsRdmaCm : public TransportConformance {};

// Empty when this build has no verbs transport; SetUp() skips when no RDMA device is usable.
std::vector<std::string> verbs_if_built() {
  if (TransportRegistry::instance().find("verbs") == nullptr) return {};
  return {"verbs"};
}

constexpr size_t kBlock = 70'001;  // over two 32 KiB chunks: a message takes several SENDs

Status all_pairs_body(Rank& rank) {
  const int ranks = rank.size();
  const size_t total = kBlock * static_cast<size_t>(ranks);
  FB_TRY_ASSIGN(auto window, allocate_host(total));
  FB_TRY_ASSIGN(auto source, allocate_host(kBlock));
  FB_TRY_ASSIGN(auto readback, allocate_host(total));
  std::memset(window->data(), 0, total);
  fill({source->bytes(), kBlock}, seed_for(kBlock, rank.rank(), 1));
  FB_TRY_ASSIGN(auto window_region, rank.context.register_memory(window->span()));
  FB_TRY_ASSIGN(auto source_region, rank.context.register_memory(source->span()));
  FB_TRY_ASSIGN(auto readback_region, rank.context.register_memory(readback->span()));
  FB_TRY_ASSIGN(auto remote, exchange_regions(rank.context, rank.bootstrap, *window_region));

  // Every rank puts its block into every other rank's window at its own offset, and sends
  // every rank, itself included, a message.
  std::vector<GuardedBuffer> out, in;
  std::vector<Request> requests;
  const size_t at = kBlock * static_cast<size_t>(rank.rank());
  for (int p = 0; p < ranks; ++p) {
    FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, p));
    FB_TRY_ASSIGN(auto o, GuardedBuffer::make(kBlock));
    FB_TRY_ASSIGN(auto i, GuardedBuffer::make(kBlock));
    fill(o.span(), seed_for(kBlock, rank.rank(), 2));
    FB_TRY_ASSIGN(Request received, endpoint->recv(i.data(), kBlock, 2));
    FB_TRY_ASSIGN(Request sent, endpoint->send(o.data(), kBlock, 2));
    requests.insert(requests.end(), {received, sent});
    if (p != rank.rank()) {
      FB_TRY_ASSIGN(Request put, endpoint->put(source->data(), kBlock, *source_region, *remote[p], at));
      FB_TRY_ASSIGN(Request flushed, endpoint->flush());
      requests.insert(requests.end(), {put, flushed});
    }
    out.push_back(std::move(o));
    in.push_back(std::move(i));
  }
  FB_TRY(wait_for_all(rank, requests, "messages, puts and flushes over rdma_cm-connected QPs"));
  FB_TRY(sync_through_transport(rank));
  requests.clear();
  for (int p = 0; p < ranks; ++p) {
    const std::string from = " from rank " + std::to_string(p);
    FB_TRY(verify(in[p].span(), seed_for(kBlock, p, 2), "message" + from));
    FB_TRY(in[p].check_guards("message" + from));
    if (p == rank.rank()) continue;
    FB_TRY(verify({window->bytes() + kBlock * p, kBlock}, seed_for(kBlock, p, 1), "put" + from));
    FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, p));
    FB_TRY_ASSIGN(Request get, endpoint->get(readback->bytes() + kBlock * p, kBlock, *readback_region, *remote[p], at));
    requests.push_back(get);
  }
  FB_TRY(wait_for_all(rank, requests, "gets over rdma_cm-connected QPs"));
  for (int p = 0; p < ranks; ++p)
    if (p != rank.rank())
      FB_TRY(verify({readback->bytes() + kBlock * p, kBlock}, seed_for(kBlock, rank.rank(), 1),
                    "get of this rank's block from rank " + std::to_string(p)));
  FB_TRY(sync_through_transport(rank));
  const auto description = rank.context.describe();
  if (description.at("qp.connect") != "rdma_cm")
    return expectation_failed("describe() says qp.connect=" + description.at("qp.connect"));
  return {};
}

TEST_P(VerbsRdmaCm, AllPairsOfThreeRanks) { run(3, all_pairs_body, TransportOptions{.settings = {{"rdma_cm", "1"}}}); }

INSTANTIATE_TEST_SUITE_P(Verbs, VerbsRdmaCm, ::testing::ValuesIn(verbs_if_built()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(VerbsRdmaCm);

}  // namespace
}  // namespace fb::conformance
