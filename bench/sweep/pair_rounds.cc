#include "sweep/pair_rounds.h"

#include <nlohmann/json.hpp>

namespace fb {
namespace {

struct Assignment {
  int peer = -1;
  bool initiator = false;
  HostPair hosts;
};

// This rank's part in a round: whom it measures with, if anyone.
std::optional<Assignment> assignment_in(const PairRound& round, const HostMap& map, int rank) {
  for (const HostPair& pair : round) {
    const auto& from = map.ranks[pair.first];
    const auto& to = map.ranks[pair.second];
    for (size_t k = 0; k < std::min(from.size(), to.size()); ++k) {
      if (from[k] == rank) return Assignment{to[k], true, pair};
      if (to[k] == rank) return Assignment{from[k], false, pair};
    }
  }
  return std::nullopt;
}

Expected<std::vector<RankResult>> measure_sizes(const RoundContext& ctx, const Assignment& a) {
  const P2pPlan& plan = ctx.plan;
  std::vector<RankResult> results;
  auto endpoint = ctx.context.connect(a.peer);
  PairSession* session = nullptr;
  std::optional<PairSession> owned;
  if (endpoint.ok()) {
    owned.emplace(ctx.context, *endpoint.value(), a.initiator, ctx.buffers.for_peer(a.peer),
                  plan.common.transport_options.timeout);
    session = &*owned;
  }
  for (uint64_t bytes : plan.common.sizes) {
    RankResult mine{ctx.bootstrap.rank(), ctx.hosts.names[ctx.hosts.host_of_rank[ctx.bootstrap.rank()]],
                    a.initiator ? "initiator" : "responder", a.peer, {}, {}, {}};
    if (!session) {
      mine.status = endpoint.status();
    } else {
      const SizeRun run = size_run_for(plan, plan.tests.front(), bytes);
      auto measured = session->run(run);
      if (measured.ok()) {
        mine.measurement = std::move(measured.value());
        if (a.initiator) mine.soak = soak_of(plan, run, mine.measurement);
      } else {
        mine.status = measured.status();
      }
    }
    results.push_back(std::move(mine));
    // After a failure the pair's state is unknown: the remaining sizes are not measured.
    if (!results.back().status.ok()) break;
  }
  return results;
}

Bytes pack(const std::vector<RankResult>& results) {
  nlohmann::json all = nlohmann::json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    const Bytes one = serialize(results[i]);
    all.push_back({{"size", i}, {"result", std::string(reinterpret_cast<const char*>(one.data()), one.size())}});
  }
  const std::string text = all.dump();
  const auto* first = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(first, first + text.size());
}

Status unpack_into(ByteSpan bytes, const PairRound& round, const HostMap& map, std::vector<PairOutcome>& out) {
  try {
    const auto all = nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()),
                                           reinterpret_cast<const char*>(bytes.data()) + bytes.size());
    for (const auto& item : all) {
      const std::string text = item.at("result").get<std::string>();
      FB_TRY_ASSIGN(RankResult result,
                    deserialize_rank_result(ByteSpan(reinterpret_cast<const std::byte*>(text.data()), text.size())));
      const size_t size_index = item.at("size").get<size_t>();
      const int host = map.host_of_rank.at(result.rank);
      for (PairOutcome& outcome : out) {
        if (outcome.size_index != size_index) continue;
        if (outcome.hosts.first != host && outcome.hosts.second != host) continue;
        outcome.ranks.push_back(std::move(result));
        break;
      }
    }
  } catch (const std::exception& e) {
    return Status::error(StatusCode::kProtocol, std::string("malformed round results: ") + e.what(), FB_HERE);
  }
  (void)round;
  return ok_status();
}

}  // namespace

Status measure_rounds(const RoundContext& ctx, const std::vector<PairRound>& rounds, const RoundDone& done) {
  const int rank = ctx.bootstrap.rank();
  for (size_t r = 0; r < rounds.size(); ++r) {
    FB_TRY(ctx.bootstrap.barrier());
    std::vector<RankResult> mine;
    if (auto a = assignment_in(rounds[r], ctx.hosts, rank)) {
      FB_TRY_ASSIGN(mine, measure_sizes(ctx, *a));
    }
    FB_TRY_ASSIGN(auto gathered, ctx.bootstrap.allgather(pack(mine)));
    if (rank != 0) continue;
    std::vector<PairOutcome> outcomes;
    for (const HostPair& pair : rounds[r])
      for (size_t s = 0; s < ctx.plan.common.sizes.size(); ++s) outcomes.push_back({pair, s, {}});
    for (const Bytes& bytes : gathered) FB_TRY(unpack_into(bytes, rounds[r], ctx.hosts, outcomes));
    FB_TRY(done(static_cast<int>(r), outcomes));
  }
  return ok_status();
}

}  // namespace fb
