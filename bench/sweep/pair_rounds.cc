#include "sweep/pair_rounds.h"

#include <nlohmann/json.hpp>

#include "counters/counter_probe.h"

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

// One rank's side of one host pair over the plan's sizes.
class PairRun {
 public:
  PairRun(const RoundContext& ctx, const Assignment& a) : ctx_(ctx), a_(a) {
    auto endpoint = ctx.context.connect(a.peer);
    if (endpoint.ok())
      session_.emplace(ctx.context, *endpoint.value(), a.initiator, ctx.buffers.for_peer(a.peer),
                       ctx.plan.common.transport_options.timeout);
    else
      broken_ = endpoint.status();
  }

  // After a failure the pair's state is unknown: later sizes are not measured.
  bool done() const { return !broken_.ok(); }

  RankResult measure(uint64_t bytes) {
    const int rank = ctx_.bootstrap.rank();
    RankResult mine{rank, ctx_.hosts.names[ctx_.hosts.host_of_rank[rank]], a_.initiator ? "initiator" : "responder",
                    a_.peer, {}, {}, {}, {}};
    if (!session_) {
      mine.status = broken_;
      return mine;
    }
    const SizeRun run = size_run_for(ctx_.plan, ctx_.plan.tests.front(), bytes);
    auto measured = session_->run(run);
    if (measured.ok()) {
      mine.measurement = std::move(measured.value());
      if (a_.initiator) mine.soak = soak_of(ctx_.plan, run, mine.measurement);
    } else {
      mine.status = measured.status();
      broken_ = mine.status;
    }
    return mine;
  }

 private:
  const RoundContext& ctx_;
  Assignment a_;
  std::optional<PairSession> session_;
  Status broken_;
};

// Every rank steps through the sizes together, so each host's counters are read around
// exactly one size of its pair (pairs of a round share no host).
Expected<std::vector<RankResult>> measure_round(const RoundContext& ctx, const PairRound& round, CounterProbe& counters) {
  std::optional<PairRun> pair;
  if (auto a = assignment_in(round, ctx.hosts, ctx.bootstrap.rank())) pair.emplace(ctx, *a);
  std::vector<RankResult> results;
  for (uint64_t bytes : ctx.plan.common.sizes) {
    counters.before();
    FB_TRY(ctx.bootstrap.barrier());
    std::optional<RankResult> mine;
    if (pair && !pair->done()) mine = pair->measure(bytes);
    FB_TRY(ctx.bootstrap.barrier());
    HostCounters read = counters.after();
    if (!mine) continue;
    mine->counters = std::move(read);
    results.push_back(std::move(*mine));
  }
  return results;
}

Bytes pack(const std::vector<RankResult>& results) {
  nlohmann::json all = nlohmann::json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    const Bytes one = serialize(results[i]);
    // Sizes are measured in order and stop at a failure, so the i-th result is the i-th size.
    all.push_back({{"size", i}, {"result", std::string(reinterpret_cast<const char*>(one.data()), one.size())}});
  }
  const std::string text = all.dump();
  const auto* first = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(first, first + text.size());
}

Status unpack_into(ByteSpan bytes, const HostMap& map, std::vector<PairOutcome>& out) {
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
  return ok_status();
}

}  // namespace

Status measure_rounds(const RoundContext& ctx, const std::vector<PairRound>& rounds, const RoundDone& done) {
  const int rank = ctx.bootstrap.rank();
  CounterProbe counters = CounterProbe::for_rank(ctx.bootstrap, ctx.context.describe(),
                                                 ctx.hosts.names[ctx.hosts.host_of_rank[rank]]);
  for (size_t r = 0; r < rounds.size(); ++r) {
    FB_TRY_ASSIGN(std::vector<RankResult> mine, measure_round(ctx, rounds[r], counters));
    FB_TRY_ASSIGN(auto gathered, ctx.bootstrap.allgather(pack(mine)));
    if (rank != 0) continue;
    std::vector<PairOutcome> outcomes;
    for (const HostPair& pair : rounds[r])
      for (size_t s = 0; s < ctx.plan.common.sizes.size(); ++s) outcomes.push_back({pair, s, {}});
    for (const Bytes& bytes : gathered) FB_TRY(unpack_into(bytes, ctx.hosts, outcomes));
    FB_TRY(done(static_cast<int>(r), outcomes));
  }
  return ok_status();
}

}  // namespace fb
