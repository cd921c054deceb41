#include "p2p/p2p.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cli/sizes.h"
#include "counters/counter_probe.h"
#include "fabricbench/transport/registry.h"
#include "p2p/p2p_record.h"
#include "p2p/pair_session.h"
#include "runner/progress.h"
#include "runner/transport_setup.h"

namespace fb {
namespace {

constexpr uint64_t kLargeMessage = 64 * 1024;

uint64_t default_iterations(P2pTest test, uint64_t bytes) {
  if (test == P2pTest::kLatency) return bytes <= kLargeMessage ? 1000 : 100;
  return bytes <= kLargeMessage ? 100 : 20;  // windows
}

uint64_t default_warmup(P2pTest test, uint64_t bytes) {
  if (test == P2pTest::kLatency) return bytes <= kLargeMessage ? 100 : 10;
  return bytes <= kLargeMessage ? 10 : 2;
}

std::string host_name() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

// Why a (test, op, size) cannot run with this transport and memory, or empty if it can.
std::string skip_reason(const P2pPlan& plan, const Capabilities& caps, P2pTest test, uint64_t bytes) {
  const std::string& name = plan.common.transport;
  if (plan.op == P2pOp::kSend && !caps.send_recv) return "transport '" + name + "' has no send/recv";
  if (plan.op != P2pOp::kSend && !caps.rma) return "transport '" + name + "' has no one-sided put/get";
  if (test == P2pTest::kLatency && plan.op == P2pOp::kPut && bytes == 0)
    return "put latency polls the last byte of the message: needs at least 1 byte";
  if (test == P2pTest::kLatency && plan.op == P2pOp::kPut && plan.common.memory == MemoryKind::kCudaDevice)
    return "put latency polls the last byte of the message from the CPU: not possible in cuda memory";
  return {};
}

RecordIdentity identity_for(const P2pPlan& plan, P2pTest test, uint64_t bytes, int ranks,
                            const std::map<std::string, std::string>& transport_details) {
  RecordIdentity id;
  id.benchmark = "p2p";
  id.test = to_string(test);
  id.op = to_string(plan.op);
  id.transport = plan.common.transport;
  id.transport_options = transport_details;
  for (const auto& [key, value] : plan.common.transport_options.settings) id.transport_options[key] = value;
  id.memory = std::string(to_string(plan.common.memory));
  id.ranks = ranks;
  id.bytes = bytes;
  return id;
}

struct PairResources {
  std::unique_ptr<Buffer> send, recv;
  std::unique_ptr<MemRegion> send_region, recv_region;
  std::vector<std::unique_ptr<RemoteRegion>> peer_send, peer_recv;
};

Expected<PairResources> prepare_buffers(const P2pPlan& plan, Context& context, Bootstrap& bootstrap) {
  const uint64_t largest = *std::max_element(plan.common.sizes.begin(), plan.common.sizes.end());
  AllocOptions alloc{.hugepages = plan.common.hugepages};
  PairResources res;
  alloc.device = plan.common.device.value_or(-1);
  alloc.local_rank = bootstrap.local_rank();
  FB_TRY_ASSIGN(res.send, allocate(plan.common.memory, largest, alloc));
  FB_TRY_ASSIGN(res.recv, allocate(plan.common.memory, largest, alloc));
  // A recognisable pattern makes a misdirected or torn transfer visible in a debugger; it is
  // written through host memory, since the buffers may be device memory.
  std::vector<std::byte> pattern(largest);
  for (uint64_t i = 0; i < largest; ++i) pattern[i] = std::byte(i * 131 + bootstrap.rank());
  const MemorySpan host_pattern{pattern.data(), pattern.size(), MemoryKind::kHost};
  FB_TRY(copy_memory(res.send->span(), host_pattern, largest));
  std::fill(pattern.begin(), pattern.end(), std::byte{0});
  FB_TRY(copy_memory(res.recv->span(), host_pattern, largest));
  res.peer_send.resize(bootstrap.size());
  res.peer_recv.resize(bootstrap.size());
  if (!context.options().one_sided) return res;
  FB_TRY_ASSIGN(res.send_region, context.register_memory(res.send->span()));
  FB_TRY_ASSIGN(res.recv_region, context.register_memory(res.recv->span()));
  FB_TRY_ASSIGN(res.peer_send, exchange_regions(context, bootstrap, *res.send_region));
  FB_TRY_ASSIGN(res.peer_recv, exchange_regions(context, bootstrap, *res.recv_region));
  return res;
}

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
    auto prepared = prepare_buffers(plan, *opened.context, bootstrap);
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
    session.emplace(*opened.context, *endpoint, initiator,
                    PairBuffers{res.send.get(), res.recv.get(), res.send_region.get(), res.recv_region.get(),
                                res.peer_send[peer].get(), res.peer_recv[peer].get()},
                    plan.common.transport_options.timeout);
  auto details = opened.context ? opened.context->describe() : std::map<std::string, std::string>{};
  if (!opened.data_path.empty()) details["data_path"] = opened.data_path;
  Progress progress(sink && Progress::wanted(plan.common.quiet), plan.tests.size() * plan.common.sizes.size());
  CounterProbe counters = CounterProbe::for_rank(bootstrap, details, host_name());

  for (P2pTest test : plan.tests) {
    for (uint64_t bytes : plan.common.sizes) {
      progress.step(std::string("[p2p ") + to_string(test) + "] " + format_size(bytes) + " B");
      RecordIdentity identity = identity_for(plan, test, bytes, bootstrap.size(), details);
      std::string why = skip_all.empty() ? skip_reason(plan, info->capabilities, test, bytes) : skip_all;
      if (!why.empty()) {
        progress.clear();
        if (sink) FB_TRY(sink->add(skipped_record(std::move(identity), why)));
        continue;
      }
      SizeRun run{test, plan.op, bytes,
                  plan.common.warmup_override.value_or(default_warmup(test, bytes)),
                  plan.common.duration_s > 0 ? 0 : plan.common.iterations.value_or(default_iterations(test, bytes)),
                  plan.common.duration_s, plan.window};
      if (plan.common.duration_s > 0) run.warmup = std::max<uint64_t>(run.warmup, 1);
      RankResult mine{rank, host_name(), initiator ? "initiator" : "responder", peer, {}, {}};
      // The counters are read outside the timed loops, between barriers so that every pair
      // runs between the two readings of its host.
      counters.before();
      Status started = bootstrap.barrier();
      auto measured = started.ok() ? session->run(run) : Expected<RankMeasurement>(started);
      if (measured.ok())
        mine.measurement = std::move(measured.value());
      else
        mine.status = measured.status();
      if (started.ok() && bootstrap.barrier().ok()) mine.counters = counters.after();
      progress.clear();
      FB_TRY(gather_and_report(bootstrap, mine, std::move(identity), plan.window, sink));
    }
  }
  return opened.context ? opened.context->close() : ok_status();
}

}  // namespace fb
