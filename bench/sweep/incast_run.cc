#include "sweep/incast_run.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "fabric/fairness.h"
#include "fabric/schedule.h"
#include "fabricbench/transport/registry.h"
#include "p2p/p2p_record.h"
#include "p2p/p2p_support.h"
#include "runner/stats.h"
#include "runner/transport_setup.h"
#include "sweep/local_host.h"

namespace fb {
namespace {

constexpr uint32_t kBurstTag = 11;
constexpr uint32_t kLoadControlTag = 12;
constexpr uint32_t kVictimDoneTag = 13;
constexpr uint64_t kDefaultBursts = 20;
constexpr uint64_t kDefaultWarmupBursts = 2;
constexpr uint64_t kVictimLatencyBytes = 8;
// The load runs this long before the victim starts, so it meets a fabric already under load.
constexpr auto kLoadRampUp = std::chrono::milliseconds(200);

struct Roles {
  int receiver = 0;               // host index
  std::vector<int> senders;       // host indices
  std::optional<HostPair> victim; // (initiator host, responder host)
};

Status invalid(std::string message) {
  return Status::error(StatusCode::kInvalidArgument, std::move(message), FB_HERE);
}

Expected<Roles> choose_roles(const IncastPlan& plan, const HostMap& map) {
  const int hosts = static_cast<int>(map.names.size());
  Roles roles;
  if (!plan.receiver.empty()) {
    auto it = std::find(map.names.begin(), map.names.end(), plan.receiver);
    if (it == map.names.end()) return invalid("--receiver '" + plan.receiver + "' runs no rank of this job");
    roles.receiver = static_cast<int>(it - map.names.begin());
  }
  std::vector<int> others;
  for (int step = 1; step < hosts; ++step) others.push_back((roles.receiver + step) % hosts);
  if (plan.congestion) {
    if (hosts < 4)
      return invalid("--congestion needs at least 4 hosts (a receiver, a sender and a victim pair); this job has " +
                     std::to_string(hosts));
    roles.victim = HostPair{others[others.size() - 2], others.back()};
    others.resize(others.size() - 2);
  }
  const int available = static_cast<int>(others.size());
  const int fan_in = plan.fan_in > 0 ? plan.fan_in : available;
  if (fan_in > available)
    return invalid("--fan-in " + std::to_string(fan_in) + " needs " + std::to_string(fan_in) + " sending hosts, but only " +
                   std::to_string(available) + " are left besides the receiver" + (plan.congestion ? " and the victim pair" : ""));
  roles.senders.assign(others.begin(), others.begin() + fan_in);
  return roles;
}

int leader(const HostMap& map, int host) { return map.ranks[host].front(); }

struct Burst {
  uint64_t bytes = 0;
  int window = 0;
  std::chrono::milliseconds timeout;
};

// Posts `window` receives per sender and returns when each sender's burst completed, in
// microseconds from the start (one entry per sender, in order).
Expected<std::vector<double>> receive_burst(Context& context, const std::vector<Endpoint*>& senders, Buffer& buffer,
                                            const Burst& burst) {
  const auto start = Clock::now();
  std::vector<std::vector<Request>> pending(senders.size());
  for (size_t s = 0; s < senders.size(); ++s)
    for (int w = 0; w < burst.window; ++w) {
      FB_TRY_ASSIGN(Request r, senders[s]->recv(buffer.data(), burst.bytes, kBurstTag));
      pending[s].push_back(std::move(r));
    }
  std::vector<double> completion(senders.size(), -1);
  size_t open = senders.size();
  const Deadline deadline = Deadline::after(burst.timeout);
  while (open > 0) {
    FB_TRY(context.progress());
    for (size_t s = 0; s < senders.size(); ++s) {
      if (completion[s] >= 0) continue;
      bool all = true;
      for (Request& r : pending[s]) {
        if (r.completed()) continue;
        FB_TRY_ASSIGN(bool done, context.test(r));
        all = all && done;
      }
      if (!all) continue;
      completion[s] = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
      --open;
    }
    if (open > 0 && deadline.expired())
      return Status::error(StatusCode::kTimeout,
                           "incast receiver: " + std::to_string(open) + " sender(s) did not deliver their burst within " +
                               std::to_string(burst.timeout.count()) + " ms (are they alive?)",
                           FB_HERE);
  }
  return completion;
}

Status send_burst(Context& context, Endpoint& receiver, Buffer& buffer, const Burst& burst) {
  std::vector<Request> sent;
  for (int w = 0; w < burst.window; ++w) {
    FB_TRY_ASSIGN(Request r, receiver.send(buffer.data(), burst.bytes, kBurstTag));
    sent.push_back(std::move(r));
  }
  for (Request& r : sent) FB_TRY(wait(context, r, burst.timeout, "incast burst"));
  return ok_status();
}

Status send_value(Context& context, Endpoint& to, uint64_t value, uint32_t tag, std::chrono::milliseconds timeout) {
  FB_TRY_ASSIGN(Request r, to.send(&value, sizeof(value), tag));
  return wait(context, r, timeout, "control message");
}

Expected<uint64_t> recv_value(Context& context, Endpoint& from, uint32_t tag, std::chrono::milliseconds timeout) {
  uint64_t value = 0;
  FB_TRY_ASSIGN(Request r, from.recv(&value, sizeof(value), tag));
  FB_TRY(wait(context, r, timeout, "control message"));
  return value;
}

struct Incast {
  const IncastPlan& plan;
  Bootstrap& bootstrap;
  RunReport* report;
  HostMap hosts;
  Roles roles;
  OpenedTransport opened;
  PairResources buffers;
  std::map<std::string, std::string> details;

  int rank() const { return bootstrap.rank(); }
  bool is_receiver() const { return rank() == leader(hosts, roles.receiver); }
  std::optional<size_t> sender_index() const {
    for (size_t s = 0; s < roles.senders.size(); ++s)
      if (rank() == leader(hosts, roles.senders[s])) return s;
    return std::nullopt;
  }
  Burst burst(uint64_t bytes) const { return {bytes, plan.p2p.window, plan.p2p.common.transport_options.timeout}; }
  Expected<std::vector<Endpoint*>> sender_endpoints() {
    std::vector<Endpoint*> out;
    for (int host : roles.senders) {
      FB_TRY_ASSIGN(Endpoint * e, opened.context->connect(leader(hosts, host)));
      out.push_back(e);
    }
    return out;
  }
};

// Every burst of one size: completion times [burst][sender] on the receiver, empty elsewhere.
Expected<std::vector<std::vector<double>>> run_bursts(Incast& in, uint64_t bytes, uint64_t warmup, uint64_t bursts) {
  std::vector<std::vector<double>> timed;
  const auto sender = in.sender_index();
  std::vector<Endpoint*> senders;
  Endpoint* receiver = nullptr;
  if (in.is_receiver()) {
    FB_TRY_ASSIGN(senders, in.sender_endpoints());
  }
  if (sender) {
    FB_TRY_ASSIGN(receiver, in.opened.context->connect(leader(in.hosts, in.roles.receiver)));
  }
  for (uint64_t b = 0; b < warmup + bursts; ++b) {
    FB_TRY(in.bootstrap.barrier());  // every burst starts together
    if (in.is_receiver()) {
      FB_TRY_ASSIGN(auto completion, receive_burst(*in.opened.context, senders, *in.buffers.recv, in.burst(bytes)));
      if (b >= warmup) timed.push_back(std::move(completion));
    } else if (sender) {
      FB_TRY(send_burst(*in.opened.context, *receiver, *in.buffers.send, in.burst(bytes)));
    }
  }
  return timed;
}

Bytes to_wire(const nlohmann::json& j) {
  const std::string text = j.dump();
  const auto* first = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(first, first + text.size());
}

nlohmann::json from_wire(const Bytes& bytes) {
  return nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()),
                               reinterpret_cast<const char*>(bytes.data()) + bytes.size(), nullptr, false);
}

RecordIdentity incast_identity(const Incast& in, std::string test, uint64_t bytes, int ranks) {
  RecordIdentity id;
  id.benchmark = "incast";
  id.test = std::move(test);
  id.op = "send";
  id.transport = in.plan.p2p.common.transport;
  id.transport_options = in.details;
  for (const auto& [key, value] : in.plan.p2p.common.transport_options.settings) id.transport_options[key] = value;
  id.memory = std::string(to_string(in.plan.p2p.common.memory));
  id.ranks = ranks;
  id.bytes = bytes;
  return id;
}

// Rank 0's record of one size, from the receiver's completion times.
Record incast_record(const Incast& in, uint64_t bytes, uint64_t warmup, const std::vector<std::vector<double>>& fct) {
  const size_t k = in.roles.senders.size();
  Record r;
  r.id = incast_identity(in, "bw", bytes, static_cast<int>(k) + 1);
  r.iterations = fct.size();
  r.warmup = warmup;
  r.window = in.plan.p2p.window;
  const double burst_bytes = static_cast<double>(bytes) * in.plan.p2p.window;
  IncastResult result;
  result.fan_in = static_cast<int>(k);
  result.receiver = in.hosts.names[in.roles.receiver];
  std::vector<double> flows, shares;
  double slowest_total_us = 0;
  for (const auto& burst : fct) {
    flows.insert(flows.end(), burst.begin(), burst.end());
    slowest_total_us += *std::max_element(burst.begin(), burst.end());
  }
  for (size_t s = 0; s < k; ++s) {
    double total_us = 0;
    for (const auto& burst : fct) total_us += burst[s];
    const Bandwidth share = bandwidth_from(burst_bytes * static_cast<double>(fct.size()), total_us * 1e-6);
    result.senders.push_back(in.hosts.names[in.roles.senders[s]]);
    result.per_sender.push_back(share);
    shares.push_back(share.gbits_per_s);
    RankSummary rank;
    rank.rank = leader(in.hosts, in.roles.senders[s]);
    rank.host = result.senders.back();
    rank.role = "sender";
    rank.peer = leader(in.hosts, in.roles.receiver);
    rank.iterations = fct.size();
    rank.elapsed_s = total_us * 1e-6;
    rank.bandwidth = share;
    r.per_rank.push_back(rank);
  }
  result.aggregate = bandwidth_from(burst_bytes * static_cast<double>(k * fct.size()), slowest_total_us * 1e-6);
  auto jain = jain_index(shares);
  result.jain_index = jain.ok() ? jain.value() : 0;
  result.completion_us = summarize(flows);
  result.flows = flows.size();
  r.bandwidth = result.aggregate;
  r.latency_us = result.completion_us;
  r.msg_rate = slowest_total_us > 0 ? static_cast<double>(k * fct.size()) * in.plan.p2p.window / (slowest_total_us * 1e-6) : 0;
  r.sample_unit = "flow completion: one sender's window x bytes, from the burst's start";
  r.samples_total = flows.size();
  r.samples_cap = kRecordSampleCap;
  r.samples_us.assign(flows.begin(), flows.begin() + std::min<size_t>(flows.size(), kRecordSampleCap));
  r.incast = std::move(result);
  return r;
}

Status measure_size(Incast& in, uint64_t bytes) {
  const CommonPlan& c = in.plan.p2p.common;
  const uint64_t warmup = c.warmup_override.value_or(kDefaultWarmupBursts);
  const uint64_t bursts = c.iterations.value_or(kDefaultBursts);
  // A rank whose bursts fail leaves the job with its error; the others then fail in the
  // next bootstrap step, and rank 0 still writes what was measured before.
  FB_TRY_ASSIGN(auto timed, run_bursts(in, bytes, warmup, bursts));
  nlohmann::json mine = nlohmann::json::object();
  if (in.is_receiver()) mine["fct"] = timed;
  FB_TRY_ASSIGN(auto all, in.bootstrap.allgather(to_wire(mine)));
  if (!in.report) return ok_status();
  const nlohmann::json from_receiver = from_wire(all[leader(in.hosts, in.roles.receiver)]);
  if (from_receiver.is_discarded() || !from_receiver.contains("fct"))
    return Status::error(StatusCode::kProtocol, "the incast receiver sent a malformed result", FB_HERE);
  return in.report->add(incast_record(in, bytes, warmup, from_receiver["fct"].get<std::vector<std::vector<double>>>()));
}

// ---- congestion ------------------------------------------------------------------------

struct VictimNumbers {
  double latency_p50_us = 0;
  double gbits = 0;
};

// The victim pair's latency and bandwidth; on the initiator, then (loaded) tells the load's
// receiver it is done.
Expected<VictimNumbers> measure_victim(Incast& in, bool initiator, uint64_t bytes) {
  const HostPair v = *in.roles.victim;
  const int peer = leader(in.hosts, initiator ? v.second : v.first);
  FB_TRY_ASSIGN(Endpoint * endpoint, in.opened.context->connect(peer));
  PairSession session(*in.opened.context, *endpoint, initiator, in.buffers.for_peer(peer),
                      in.plan.p2p.common.transport_options.timeout);
  P2pPlan pair = in.plan.p2p;
  FB_TRY_ASSIGN(RankMeasurement latency, session.run(size_run_for(pair, P2pTest::kLatency, kVictimLatencyBytes)));
  FB_TRY_ASSIGN(RankMeasurement bw, session.run(size_run_for(pair, P2pTest::kBw, bytes)));
  VictimNumbers numbers;
  numbers.latency_p50_us = summarize(latency.samples_us).p50;
  if (initiator && bw.elapsed_s > 0)
    numbers.gbits = bandwidth_from(static_cast<double>(bw.bytes_sent), bw.elapsed_s).gbits_per_s;
  return numbers;
}

// The incast as background load until the victim says it is done.
Status run_load(Incast& in, uint64_t bytes) {
  auto& context = *in.opened.context;
  const auto timeout = in.plan.p2p.common.transport_options.timeout;
  if (in.is_receiver()) {
    FB_TRY_ASSIGN(auto senders, in.sender_endpoints());
    FB_TRY_ASSIGN(Endpoint * victim, context.connect(leader(in.hosts, in.roles.victim->first)));
    uint64_t done_flag = 0;
    FB_TRY_ASSIGN(Request victim_done, victim->recv(&done_flag, sizeof(done_flag), kVictimDoneTag));
    for (bool stop = false; !stop;) {
      FB_TRY(receive_burst(context, senders, *in.buffers.recv, in.burst(bytes)).status());
      FB_TRY_ASSIGN(stop, context.test(victim_done));
      for (Endpoint* s : senders) FB_TRY(send_value(context, *s, stop ? 1 : 0, kLoadControlTag, timeout));
    }
    return ok_status();
  }
  FB_TRY_ASSIGN(Endpoint * receiver, context.connect(leader(in.hosts, in.roles.receiver)));
  for (uint64_t stop = 0; stop == 0;) {
    FB_TRY(send_burst(context, *receiver, *in.buffers.send, in.burst(bytes)));
    FB_TRY_ASSIGN(stop, recv_value(context, *receiver, kLoadControlTag, timeout));
  }
  return ok_status();
}

Status run_congestion(Incast& in, uint64_t bytes) {
  const HostPair v = *in.roles.victim;
  const bool victim_initiator = in.rank() == leader(in.hosts, v.first);
  const bool victim_responder = in.rank() == leader(in.hosts, v.second);
  const bool victim = victim_initiator || victim_responder;
  const bool load = in.is_receiver() || in.sender_index().has_value();
  std::optional<VictimNumbers> isolated, loaded;
  Status failed;
  FB_TRY(in.bootstrap.barrier());
  if (victim) {
    auto n = measure_victim(in, victim_initiator, bytes);
    if (n.ok()) isolated = n.value(); else failed = n.status();
  }
  FB_TRY(in.bootstrap.barrier());
  if (victim) {
    if (failed.ok()) {
      std::this_thread::sleep_for(kLoadRampUp);
      auto n = measure_victim(in, victim_initiator, bytes);
      if (n.ok()) loaded = n.value(); else failed = n.status();
    }
    if (victim_initiator) {  // always: the load runs until it hears this
      FB_TRY_ASSIGN(Endpoint * receiver, in.opened.context->connect(leader(in.hosts, in.roles.receiver)));
      FB_TRY(send_value(*in.opened.context, *receiver, 1, kVictimDoneTag, in.plan.p2p.common.transport_options.timeout));
    }
  } else if (load) {
    failed = run_load(in, bytes);
  }
  nlohmann::json mine = nlohmann::json::object();
  if (victim_initiator && isolated && loaded)
    mine = {{"isolated", {isolated->latency_p50_us, isolated->gbits}}, {"loaded", {loaded->latency_p50_us, loaded->gbits}}};
  if (!failed.ok()) mine["error"] = failed.to_string();
  FB_TRY_ASSIGN(auto all, in.bootstrap.allgather(to_wire(mine)));
  if (!in.report) return failed;
  RecordIdentity id = incast_identity(in, "congestion", bytes, static_cast<int>(in.roles.senders.size()) + 3);
  id.from_host = in.hosts.names[v.first];
  id.to_host = in.hosts.names[v.second];
  std::string error;
  for (const Bytes& b : all) {
    const auto j = from_wire(b);
    if (!j.is_discarded() && j.contains("error") && error.empty()) error = j["error"].get<std::string>();
  }
  const auto result = from_wire(all[leader(in.hosts, v.first)]);
  if (!error.empty() || result.is_discarded() || !result.contains("loaded")) {
    Record r = skipped_record(std::move(id), error.empty() ? "the victim pair reported no result" : error);
    r.status = RecordStatus::kFailed;
    FB_TRY(in.report->add(r));
    return Status::error(StatusCode::kPeerFailed, "congestion run: " + r.reason, FB_HERE);
  }
  CongestionResult c;
  c.victim_from = *id.from_host;
  c.victim_to = *id.to_host;
  c.load = "incast";
  c.isolated_latency_us = result["isolated"][0];
  c.isolated_gbits = result["isolated"][1];
  c.loaded_latency_us = result["loaded"][0];
  c.loaded_gbits = result["loaded"][1];
  c.latency_factor = c.isolated_latency_us > 0 ? c.loaded_latency_us / c.isolated_latency_us : 0;
  c.bandwidth_factor = c.loaded_gbits > 0 ? c.isolated_gbits / c.loaded_gbits : 0;
  Record r;
  r.id = std::move(id);
  r.window = in.plan.p2p.window;
  r.iterations = 1;
  r.latency_us.p50 = c.loaded_latency_us;
  r.bandwidth = bandwidth_from(c.loaded_gbits * 1e9 / 8, 1.0);
  r.sample_unit = "none kept: the block 'congestion' holds the victim's numbers";
  r.congestion = c;
  return in.report->add(r);
}

}  // namespace

Status run_incast_rank(const IncastPlan& plan, Bootstrap& bootstrap, RunReport* report) {
  Incast in{plan, bootstrap, report, {}, {}, {}, {}, {}};
  FB_TRY_ASSIGN(in.hosts, agree_on_hosts(plan.fabric, plan.p2p.common.bootstrap, bootstrap, "incast"));
  FB_TRY_ASSIGN(in.roles, choose_roles(plan, in.hosts));
  TransportOptions options = plan.p2p.common.transport_options;
  options.one_sided = false;
  FB_TRY_ASSIGN(in.opened, open_for_memory(plan.p2p.common.transport, plan.p2p.common.memory, bootstrap, options));
  std::string skip = in.opened.unsupported;
  const TransportInfo* info = TransportRegistry::instance().find(plan.p2p.common.transport);
  if (skip.empty() && !info->capabilities.send_recv) skip = "transport '" + plan.p2p.common.transport + "' has no send/recv";
  if (skip.empty()) {
    auto prepared = prepare_pair_buffers(plan.p2p, *in.opened.context, bootstrap);
    if (prepared.ok())
      in.buffers = std::move(prepared.value());
    else if (is_unsupported_here(prepared.status()))
      skip = prepared.status().message();
    else
      return prepared.status();
  }
  FB_TRY_ASSIGN(skip, agree_on_skip(bootstrap, skip));
  if (in.opened.context) in.details = in.opened.context->describe();
  const int ranks = static_cast<int>(in.roles.senders.size()) + 1;
  Status outcome;
  for (uint64_t bytes : plan.p2p.common.sizes) {
    if (!skip.empty()) {
      if (report) FB_TRY(report->add(skipped_record(incast_identity(in, "bw", bytes, ranks), skip)));
      continue;
    }
    Status measured = measure_size(in, bytes);
    if (!measured.ok()) {
      outcome = measured;
      break;
    }
  }
  if (outcome.ok() && skip.empty() && plan.congestion)
    outcome = run_congestion(in, *std::max_element(plan.p2p.common.sizes.begin(), plan.p2p.common.sizes.end()));
  Status closed = in.opened.context ? in.opened.context->close() : ok_status();
  return outcome.ok() ? closed : outcome;
}

}  // namespace fb
