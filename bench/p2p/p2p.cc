#include "p2p/p2p.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cli/sizes.h"
#include "fabricbench/transport/registry.h"
#include "p2p/p2p_record.h"
#include "p2p/p2p_support.h"
#include "p2p/pair_session.h"
#include "runner/progress.h"
#include "runner/transport_setup.h"

namespace fb {
namespace {

Status check_pairs(int size) {
  if (size >= 2 && size % 2 == 0) return {};
  return Status::error(StatusCode::kInvalidArgument,
                       "p2p runs ranks in pairs (0-1, 2-3, ...): needs an even number of ranks, got " +
                           std::to_string(size), FB_HERE);
}

// Every rank reports its outcome for this size; rank 0 turns them into a record.
Status gather_and_report(Bootstrap& bootstrap, const RankResult& mine, RecordIdentity identity,
                         int window, RecordSink* sink) {
  auto gathered_or = bootstrap.allgather(serialize(mine));
  if (!gathered_or.ok()) {
    // A peer is gone: keep what this rank measured as the evidence of the failed size.
    RankResult alone = mine;
    if (alone.status.ok()) alone.status = gathered_or.status();
    if (sink) (void)sink->add(build_p2p_record(std::move(identity), window, {alone}));
    return gathered_or.status();
  }
  const auto& gathered = gathered_or.value();
  std::vector<RankResult> all;
  Status first_failure;
  for (const auto& bytes : gathered) {
    FB_TRY_ASSIGN(RankResult r, deserialize_rank_result(bytes));
    if (!r.status.ok() && first_failure.ok())
      first_failure = r.status.with_context("rank " + std::to_string(r.rank));
    all.push_back(std::move(r));
  }
  if (sink) FB_TRY(sink->add(build_p2p_record(std::move(identity), window, all)));
  return first_failure;
}

}  // namespace

Status run_p2p_rank(const P2pPlan& plan, Bootstrap& bootstrap, RecordSink* sink) {
  FB_TRY(check_pairs(bootstrap.size()));
  const TransportInfo* info = TransportRegistry::instance().find(plan.common.transport);
  TransportOptions options = plan.common.transport_options;
  options.one_sided = plan.op != P2pOp::kSend;  // two-sided runs skip RMA setup, as ucx_perftest does
  FB_TRY_ASSIGN(OpenedTransport opened, open_for_memory(plan.common.transport, plan.common.memory, bootstrap, options));
  const int rank = bootstrap.rank();
  const int peer = rank ^ 1;
  const bool initiator = rank % 2 == 0;
  std::string skip_all = opened.unsupported;
  Endpoint* endpoint = nullptr;
  PairResources res;
  if (skip_all.empty()) {
    FB_TRY_ASSIGN(endpoint, opened.context->connect(peer));
    auto prepared = prepare_pair_buffers(plan, *opened.context, bootstrap);
    if (prepared.ok()) {
      res = std::move(prepared.value());
    } else if (is_unsupported_here(prepared.status())) {
      skip_all = prepared.status().message();
    } else {
      return prepared.status();
    }
  }
  FB_TRY_ASSIGN(skip_all, agree_on_skip(bootstrap, skip_all));
  std::optional<PairSession> session;
  if (skip_all.empty())
    session.emplace(*opened.context, *endpoint, initiator, res.for_peer(peer), plan.common.transport_options.timeout);
  auto details = opened.context ? opened.context->describe() : std::map<std::string, std::string>{};
  if (!opened.data_path.empty()) details["data_path"] = opened.data_path;
  Progress progress(sink && Progress::wanted(plan.common.quiet), plan.tests.size() * plan.common.sizes.size());

  for (P2pTest test : plan.tests) {
    for (uint64_t bytes : plan.common.sizes) {
      progress.step(std::string("[p2p ") + to_string(test) + "] " + format_size(bytes) + " B");
      RecordIdentity identity = p2p_identity(plan, "p2p", test, bytes, bootstrap.size(), details);
      std::string why = skip_all.empty() ? p2p_skip_reason(plan, info->capabilities, test, bytes) : skip_all;
      if (!why.empty()) {
        progress.clear();
        if (sink) FB_TRY(sink->add(skipped_record(std::move(identity), why)));
        continue;
      }
      const SizeRun run = size_run_for(plan, test, bytes);
      RankResult mine{rank, local_host_name(), initiator ? "initiator" : "responder", peer, {}, {}, {}};
      auto measured = session->run(run);
      if (measured.ok()) {
        mine.measurement = std::move(measured.value());
        if (initiator) mine.soak = soak_of(plan, run, mine.measurement);
      } else {
        mine.status = measured.status();
      }
      progress.clear();
      FB_TRY(gather_and_report(bootstrap, mine, std::move(identity), plan.window, sink));
    }
  }
  return opened.context ? opened.context->close() : ok_status();
}

}  // namespace fb
