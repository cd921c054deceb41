#include "p2p/p2p_support.h"

#include <unistd.h>

#include <algorithm>

#include "runner/soak.h"

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

}  // namespace

std::string local_host_name() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

SizeRun size_run_for(const P2pPlan& plan, P2pTest test, uint64_t bytes) {
  const CommonPlan& c = plan.common;
  SizeRun run{test, plan.op, bytes,
              c.warmup_override.value_or(default_warmup(test, bytes)),
              c.duration_s > 0 ? 0 : c.iterations.value_or(default_iterations(test, bytes)),
              c.duration_s, plan.window, plan.imm};
  if (c.duration_s > 0) run.warmup = std::max<uint64_t>(run.warmup, 1);
  return run;
}

std::string p2p_skip_reason(const P2pPlan& plan, const Capabilities& caps, P2pTest test, uint64_t bytes) {
  const std::string& name = plan.common.transport;
  if (plan.op == P2pOp::kSend && !caps.send_recv) return "transport '" + name + "' has no send/recv";
  if (plan.op != P2pOp::kSend && !caps.rma) return "transport '" + name + "' has no one-sided put/get";
  if (plan.imm && !caps.put_imm) return "transport '" + name + "' has no put with immediate data (--imm)";
  // With --imm the target waits for the notification: no byte is polled.
  if (test == P2pTest::kLatency && plan.op == P2pOp::kPut && plan.imm) return {};
  if (test == P2pTest::kLatency && plan.op == P2pOp::kPut && bytes == 0)
    return "put latency polls the last byte of the message: needs at least 1 byte";
  if (test == P2pTest::kLatency && plan.op == P2pOp::kPut && plan.common.memory == MemoryKind::kCudaDevice)
    return "put latency polls the last byte of the message from the CPU: not possible in cuda memory";
  return {};
}

RecordIdentity p2p_identity(const P2pPlan& plan, std::string benchmark, P2pTest test, uint64_t bytes, int ranks,
                            const std::map<std::string, std::string>& transport_details) {
  RecordIdentity id;
  id.benchmark = std::move(benchmark);
  id.test = to_string(test);
  id.op = plan.imm ? "put_imm" : to_string(plan.op);
  id.transport = plan.common.transport;
  id.transport_options = transport_details;
  for (const auto& [key, value] : plan.common.transport_options.settings) id.transport_options[key] = value;
  id.memory = std::string(to_string(plan.common.memory));
  id.ranks = ranks;
  id.bytes = bytes;
  return id;
}

std::optional<SoakSummary> soak_of(const P2pPlan& plan, const SizeRun& run, const RankMeasurement& measured) {
  if (run.duration_s <= 0 || measured.samples_us.empty()) return std::nullopt;
  SoakSamples in;
  in.samples_us = measured.samples_us;
  in.latency = run.test == P2pTest::kLatency;
  in.time_per_sample = in.latency && run.op != P2pOp::kGet ? 2 : 1;
  in.bytes_per_sample = static_cast<double>(run.bytes) * (in.latency ? 1 : run.window);
  return summarize_soak(in, plan.soak);
}

PairBuffers PairResources::for_peer(int peer) const {
  return PairBuffers{send.get(), recv.get(), send_region.get(), recv_region.get(),
                     peer_send.empty() ? nullptr : peer_send[peer].get(),
                     peer_recv.empty() ? nullptr : peer_recv[peer].get()};
}

Expected<PairResources> prepare_pair_buffers(const P2pPlan& plan, Context& context, Bootstrap& bootstrap) {
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

}  // namespace fb
