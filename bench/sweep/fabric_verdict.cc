#include "sweep/fabric_verdict.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace fb {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int index_of(const std::vector<std::string>& hosts, const std::string& name) {
  auto it = std::find(hosts.begin(), hosts.end(), name);
  return it == hosts.end() ? -1 : static_cast<int>(it - hosts.begin());
}

std::vector<FabricSuspect> convert(const std::vector<Suspect>& suspects, const std::vector<std::string>& hosts,
                                   const HostMatrix* retest) {
  std::vector<FabricSuspect> out;
  for (const Suspect& s : suspects) {
    FabricSuspect f{std::string(to_string(s.kind)), s.subject, s.confidence, {}};
    for (const PairEvidence& e : s.evidence) {
      FabricEvidence ev{e.from, e.to, e.measured_gbps, e.expected_gbps, e.median_gbps, std::nullopt};
      const int from = index_of(hosts, e.from), to = index_of(hosts, e.to);
      if (retest && from >= 0 && to >= 0 && std::isfinite((*retest)[from][to])) ev.retest_gbits = (*retest)[from][to];
      f.evidence.push_back(std::move(ev));
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

HostMatrix empty_matrix(size_t hosts) { return HostMatrix(hosts, std::vector<double>(hosts, kNaN)); }

double matrix_value(const Record& record) {
  if (record.status != RecordStatus::kOk) return kNaN;
  if (record.id.test == "latency") return record.latency_us.p50;
  const double gbits = record.bandwidth.gbits_per_s;
  return record.id.test == "bibw" ? gbits / 2 : gbits;
}

Expected<OutlierReport> analyze_matrix(const std::vector<std::string>& hosts, const HostMatrix& matrix,
                                       const FabricPlan& plan, const Topology* topology) {
  OutlierInput input;
  input.hosts = hosts;
  input.gbps = matrix;
  input.expected_gbps = plan.expect_gbits;
  input.efficiency = plan.efficiency;
  input.topology = topology;
  return analyze_outliers(input);
}

std::vector<HostPair> pairs_to_retest(const OutlierReport& report, const std::vector<std::string>& hosts) {
  std::set<HostPair> pairs;
  for (const Suspect& s : report.suspects) {
    for (const PairEvidence& e : s.evidence) {
      const int from = index_of(hosts, e.from), to = index_of(hosts, e.to);
      if (from < 0 || to < 0 || from == to) continue;
      pairs.insert({std::min(from, to), std::max(from, to)});
    }
  }
  return {pairs.begin(), pairs.end()};
}

HostMatrix merge_retest(const HostMatrix& first, const HostMatrix& retest) {
  HostMatrix merged = first;
  for (size_t a = 0; a < merged.size(); ++a)
    for (size_t b = 0; b < merged[a].size(); ++b)
      if (std::isfinite(retest[a][b]))
        merged[a][b] = std::isfinite(merged[a][b]) ? std::max(merged[a][b], retest[a][b]) : retest[a][b];
  return merged;
}

void fill_verdict(FabricSummary& summary, const OutlierReport& final_report, const FabricPlan& plan,
                  const OutlierReport* first_report, const HostMatrix* retest) {
  FabricAnalysis a;
  a.median_gbits = final_report.median_gbps;
  a.deviation_gbits = final_report.deviation_gbps;
  a.slow_below_gbits = final_report.slow_below_gbps;
  a.expected_gbits = plan.expect_gbits;
  a.efficiency = plan.efficiency;
  a.measured_pairs = final_report.measured_pairs;
  a.slow_pairs = final_report.slow_pairs;
  summary.analysis = a;
  summary.retested = retest != nullptr;
  summary.suspects = convert(final_report.suspects, summary.hosts, retest);
  summary.cleared.clear();
  if (!first_report) return;
  for (const FabricSuspect& earlier : convert(first_report->suspects, summary.hosts, retest)) {
    const bool confirmed = std::any_of(summary.suspects.begin(), summary.suspects.end(), [&](const FabricSuspect& s) {
      return s.kind == earlier.kind && s.subject == earlier.subject;
    });
    if (!confirmed) summary.cleared.push_back(earlier);
  }
}

}  // namespace fb
