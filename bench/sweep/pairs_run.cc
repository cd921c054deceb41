#include "sweep/pairs_run.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cli/sizes.h"
#include "fabric/topology.h"
#include "fabricbench/transport/registry.h"
#include "runner/progress.h"
#include "runner/transport_setup.h"
#include "sweep/fabric_verdict.h"
#include "sweep/local_host.h"
#include "sweep/pair_rounds.h"

namespace fb {
namespace {

Status invalid(std::string message) {
  return Status::error(StatusCode::kInvalidArgument, std::move(message), FB_HERE);
}

Expected<int> host_index(const HostMap& map, const std::string& name) {
  auto it = std::find(map.names.begin(), map.names.end(), name);
  if (it != map.names.end()) return static_cast<int>(it - map.names.begin());
  std::string known;
  for (const auto& n : map.names) known += (known.empty() ? "" : ", ") + n;
  return invalid("--pairs names host '" + name + "', which runs no rank of this job (hosts: " + known + ")");
}

// Rounds of host pairs (unordered: the caller makes them directed where the test needs it).
Expected<std::vector<PairRound>> undirected_rounds(const PairsPlan& plan, const HostMap& map) {
  const int hosts = static_cast<int>(map.names.size());
  if (!plan.pair_list.empty()) {
    std::vector<HostPair> pairs;
    for (const auto& [from, to] : plan.pair_list) {
      FB_TRY_ASSIGN(int a, host_index(map, from));
      FB_TRY_ASSIGN(int b, host_index(map, to));
      pairs.push_back({a, b});
    }
    return pack_rounds(hosts, pairs);
  }
  if (plan.sample_pairs) {
    const int all = hosts * (hosts - 1) / 2;
    FB_TRY_ASSIGN(auto pairs, sample_pairs(hosts, std::min(*plan.sample_pairs, all), plan.sample_seed));
    return pack_rounds(hosts, pairs);
  }
  return tournament_rounds(hosts);
}

std::vector<PairRound> schedule_for(const PairsPlan& plan, const std::vector<PairRound>& undirected) {
  if (plan.p2p.tests.front() == P2pTest::kBibw) return undirected;
  return directed_rounds(undirected);
}

struct Sweep {
  const PairsPlan& plan;
  Bootstrap& bootstrap;
  RunReport* report;  // rank 0 only
  HostMap hosts;
  OpenedTransport opened;
  PairResources buffers;
  std::map<std::string, std::string> details;
};

RecordIdentity pair_identity(const Sweep& s, const PairOutcome& o) {
  RecordIdentity id = p2p_identity(s.plan.p2p, "pairs", s.plan.p2p.tests.front(),
                                   s.plan.p2p.common.sizes[o.size_index], static_cast<int>(o.ranks.size()), s.details);
  if (id.ranks < 1) id.ranks = 1;
  id.from_host = s.hosts.names[o.hosts.first];
  id.to_host = s.hosts.names[o.hosts.second];
  return id;
}

Record pair_record(const Sweep& s, const PairOutcome& o) {
  RecordIdentity id = pair_identity(s, o);
  if (o.ranks.empty()) return skipped_record(std::move(id), "no rank of this pair reported a result");
  std::vector<RankResult> ranks = o.ranks;
  if (ranks.size() % 2 != 0) {  // the partner's result is missing: a failed measurement
    Record failed = build_p2p_record(std::move(id), s.plan.p2p.window, ranks);
    if (failed.status == RecordStatus::kOk) {
      failed.status = RecordStatus::kFailed;
      failed.reason = "a rank of this pair did not report";
    }
    return failed;
  }
  return build_p2p_record(std::move(id), s.plan.p2p.window, ranks);
}

// Measures `rounds`; on rank 0 fills `matrix` with the largest size, delivers every record
// when `records` is set, and keeps the first failed measurement in `failed`. Returns only
// what stops the whole job (a rank gone, a result that cannot be written).
Status sweep_rounds(Sweep& s, const std::vector<PairRound>& rounds, HostMatrix& matrix, bool records,
                    const char* phase, Status& failed) {
  const size_t largest = static_cast<size_t>(
      std::max_element(s.plan.p2p.common.sizes.begin(), s.plan.p2p.common.sizes.end()) - s.plan.p2p.common.sizes.begin());
  Progress progress(s.report && Progress::wanted(s.plan.p2p.common.quiet), rounds.size());
  RoundContext ctx{s.plan.p2p, s.hosts, *s.opened.context, s.buffers, s.bootstrap};
  auto done = [&](int round, const std::vector<PairOutcome>& outcomes) -> Status {
    progress.clear();
    for (const PairOutcome& o : outcomes) {
      Record record = pair_record(s, o);
      if (o.size_index == largest) {
        matrix[o.hosts.first][o.hosts.second] = matrix_value(record);
        // bibw measures both directions at once: each gets half the pair's total.
        if (record.id.test == "bibw") matrix[o.hosts.second][o.hosts.first] = matrix_value(record);
      }
      if (record.status == RecordStatus::kFailed && failed.ok())
        failed = Status::error(StatusCode::kPeerFailed,
                                      *record.id.from_host + " -> " + *record.id.to_host + ": " + record.reason, FB_HERE);
      if (records) FB_TRY(s.report->add(record));
    }
    if (round + 1 < static_cast<int>(rounds.size()))
      progress.step(std::string("[pairs ") + phase + " round " + std::to_string(round + 2) + "/" +
                    std::to_string(rounds.size()) + "]");
    return ok_status();
  };
  if (s.report && !rounds.empty()) progress.step(std::string("[pairs ") + phase + " round 1/" + std::to_string(rounds.size()) + "]");
  return measure_rounds(ctx, rounds, done);
}

// Rank 0 decides which pairs to retest; every rank learns them.
Expected<std::vector<HostPair>> share_retest(Bootstrap& bootstrap, const std::vector<HostPair>& mine) {
  Bytes packed;
  for (const HostPair& p : mine) {
    const int32_t both[2] = {p.first, p.second};
    const auto* first = reinterpret_cast<const std::byte*>(both);
    packed.insert(packed.end(), first, first + sizeof(both));
  }
  FB_TRY_ASSIGN(auto all, bootstrap.allgather(bootstrap.rank() == 0 ? packed : Bytes{}));
  std::vector<HostPair> pairs;
  const Bytes& from_zero = all.front();
  for (size_t at = 0; at + 2 * sizeof(int32_t) <= from_zero.size(); at += 2 * sizeof(int32_t)) {
    int32_t both[2];
    std::memcpy(both, from_zero.data() + at, sizeof(both));
    pairs.push_back({both[0], both[1]});
  }
  return pairs;
}

FabricSummary start_summary(const Sweep& s, int rounds) {
  FabricSummary summary;
  summary.test = to_string(s.plan.p2p.tests.front());
  summary.bytes = *std::max_element(s.plan.p2p.common.sizes.begin(), s.plan.p2p.common.sizes.end());
  summary.metric = s.plan.p2p.tests.front() == P2pTest::kLatency ? "latency_p50_us" : "gbits_per_s";
  summary.hosts = s.hosts.names;
  summary.rounds = rounds;
  return summary;
}

// --expect-gbps nic: the median of the speeds the hosts' NICs report (a host whose link came
// up slower than its peers' then shows as slow rather than setting the bar).
FabricPlan with_expected_rate(FabricPlan fabric, const HostMap& hosts, FabricSummary& summary) {
  if (!fabric.expect_from_nic) return fabric;
  std::vector<double> speeds;
  for (const auto& speed : hosts.link_gbits)
    if (speed) speeds.push_back(*speed);
  if (speeds.empty()) {
    summary.analysis_note = "--expect-gbps nic: no host reported a NIC speed; judged against the fabric's median only";
    return fabric;
  }
  std::sort(speeds.begin(), speeds.end());
  fabric.expect_gbits = speeds[(speeds.size() - 1) / 2];
  return fabric;
}

// The analysis, the retest of its suspects and the verdict. Collective: every rank takes part
// in the retest.
Status judge(Sweep& s, FabricSummary& summary, const HostMatrix& matrix) {
  const bool bandwidth = s.plan.p2p.tests.front() != P2pTest::kLatency;
  if (!bandwidth) {
    summary.analysis_note = "latency sweeps report the matrix only; outliers are judged on bandwidth (--test bw or bibw)";
    return ok_status();
  }
  const FabricPlan fabric = with_expected_rate(s.plan.fabric, s.hosts, summary);
  std::optional<Topology> topology;
  std::optional<OutlierReport> first;
  std::vector<HostPair> retest_pairs;
  if (s.report) {
    if (s.plan.fabric.topology_path) {
      FB_TRY_ASSIGN(topology, load_topology(*s.plan.fabric.topology_path));
    }
    auto report = analyze_matrix(summary.hosts, matrix, fabric, topology ? &*topology : nullptr);
    if (report.ok()) {
      first = std::move(report.value());
      if (s.plan.retest) retest_pairs = pairs_to_retest(*first, summary.hosts);
    } else {
      summary.analysis_note = "no analysis: " + report.status().message();
    }
  }
  FB_TRY_ASSIGN(retest_pairs, share_retest(s.bootstrap, retest_pairs));
  HostMatrix retest = empty_matrix(summary.hosts.size());
  if (!retest_pairs.empty()) {
    FB_TRY_ASSIGN(auto packed, pack_rounds(static_cast<int>(summary.hosts.size()), retest_pairs));
    Status retest_failed;
    FB_TRY(sweep_rounds(s, schedule_for(s.plan, packed), retest, false, "retest", retest_failed));
  }
  if (!first) return ok_status();
  if (retest_pairs.empty()) {
    fill_verdict(summary, *first, fabric, nullptr, nullptr);
    return ok_status();
  }
  FB_TRY_ASSIGN(OutlierReport final_report,
                analyze_matrix(summary.hosts, merge_retest(matrix, retest), fabric, topology ? &*topology : nullptr));
  fill_verdict(summary, final_report, fabric, &*first, &retest);
  return ok_status();
}

}  // namespace

Status run_pairs_rank(const PairsPlan& plan, Bootstrap& bootstrap, RunReport* report) {
  const auto started = Clock::now();
  Sweep s{plan, bootstrap, report, {}, {}, {}, {}};
  FB_TRY_ASSIGN(s.hosts, agree_on_hosts(plan.fabric, plan.p2p.common.bootstrap, bootstrap, "pairs"));
  FB_TRY_ASSIGN(auto undirected, undirected_rounds(plan, s.hosts));
  const std::vector<PairRound> rounds = schedule_for(plan, undirected);
  TransportOptions options = plan.p2p.common.transport_options;
  options.one_sided = plan.p2p.op != P2pOp::kSend;
  FB_TRY_ASSIGN(s.opened, open_for_memory(plan.p2p.common.transport, plan.p2p.common.memory, bootstrap, options));
  std::string skip = s.opened.unsupported;
  if (skip.empty()) {
    auto prepared = prepare_pair_buffers(plan.p2p, *s.opened.context, bootstrap);
    if (prepared.ok()) {
      s.buffers = std::move(prepared.value());
    } else if (is_unsupported_here(prepared.status())) {
      skip = prepared.status().message();
    } else {
      return prepared.status();
    }
  }
  const TransportInfo* info = TransportRegistry::instance().find(plan.p2p.common.transport);
  if (skip.empty())
    skip = p2p_skip_reason(plan.p2p, info->capabilities, plan.p2p.tests.front(), plan.p2p.common.sizes.front());
  FB_TRY_ASSIGN(skip, agree_on_skip(bootstrap, skip));
  if (s.opened.context) s.details = s.opened.context->describe();
  if (!s.opened.data_path.empty()) s.details["data_path"] = s.opened.data_path;

  FabricSummary summary = start_summary(s, static_cast<int>(rounds.size()));
  HostMatrix matrix = empty_matrix(s.hosts.names.size());
  Status outcome;
  if (!skip.empty()) {
    summary.analysis_note = "not measured: " + skip;
    for (const PairRound& round : rounds)
      for (const HostPair& pair : round)
        for (size_t i = 0; report && i < plan.p2p.common.sizes.size(); ++i)
          FB_TRY(report->add(skipped_record(pair_identity(s, PairOutcome{pair, i, {}}), skip)));
  } else {
    Status failed;
    outcome = sweep_rounds(s, rounds, matrix, true, "sweep", failed);
    if (outcome.ok()) outcome = judge(s, summary, matrix);
    if (outcome.ok()) outcome = failed;
  }
  summary.matrix = matrix;
  summary.elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
  if (report) report->set_fabric(std::move(summary));
  Status closed = s.opened.context ? s.opened.context->close() : ok_status();
  return outcome.ok() ? closed : outcome;
}

}  // namespace fb
