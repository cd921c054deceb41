#include "fabric/outliers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace fb {
namespace {

constexpr double kMadToSigma = 1.4826;  // MAD of a normal distribution x this = its sigma

double median_of(std::vector<double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + mid);
  return (lower + upper) / 2;
}

Status invalid(std::string message) {
  return Status::error(StatusCode::kInvalidArgument, std::move(message), FB_HERE);
}

Status validate(const OutlierInput& in) {
  const size_t n = in.hosts.size();
  std::set<std::string_view> names;
  for (const std::string& host : in.hosts) {
    if (host.empty()) return invalid("outlier analysis: a host has an empty name");
    if (!names.insert(host).second) return invalid("outlier analysis: host '" + host + "' twice");
  }
  if (in.gbps.size() != n) {
    return invalid("outlier analysis: " + std::to_string(in.gbps.size()) + " matrix rows for " +
                   std::to_string(n) + " hosts");
  }
  for (size_t i = 0; i < n; ++i) {
    if (in.gbps[i].size() != n) {
      return invalid("outlier analysis: row " + std::to_string(i) + " has " +
                     std::to_string(in.gbps[i].size()) + " entries for " + std::to_string(n) +
                     " hosts");
    }
    for (size_t j = 0; j < n; ++j) {
      const double v = in.gbps[i][j];
      if (i != j && !std::isnan(v) && (std::isinf(v) || v < 0)) {
        return invalid("outlier analysis: " + in.hosts[i] + "->" + in.hosts[j] + " is " +
                       std::to_string(v) + " GB/s");
      }
    }
  }
  if (!(in.efficiency > 0 && in.efficiency <= 1)) {
    return invalid("outlier analysis: efficiency " + std::to_string(in.efficiency) +
                   " is outside (0, 1]");
  }
  if (in.expected_gbps && !(std::isfinite(*in.expected_gbps) && *in.expected_gbps > 0)) {
    return invalid("outlier analysis: expected rate " + std::to_string(*in.expected_gbps) +
                   " GB/s is not positive");
  }
  return ok_status();
}

// The state the attribution steps share: which pairs are slow, and which of those an earlier
// (wider) suspect already explains.
struct Analysis {
  const OutlierInput& in;
  int n;
  double median;
  double bar;  // expected x efficiency, NaN without one
  std::vector<std::vector<bool>> slow;
  std::vector<std::vector<bool>> explained;

  bool measured(int i, int j) const { return i != j && !std::isnan(in.gbps[i][j]); }
  PairEvidence evidence(int i, int j) const {
    return {in.hosts[i], in.hosts[j], in.gbps[i][j], bar, median};
  }
};

struct GroupCandidate {
  std::string group;
  std::vector<std::pair<int, int>> slow_pairs;
  double slow_fraction = 0;
};

// Rule 3 for one level of grouping (hosts by leaf): groups whose cross-group pairs are nearly
// all slow while their own pairs are mostly healthy.
std::vector<GroupCandidate> uplink_candidates(const Analysis& a,
                                              const std::vector<std::string>& group,
                                              const OutlierRules& rules) {
  std::set<std::string> groups;
  for (const std::string& g : group) {
    if (!g.empty()) groups.insert(g);
  }
  std::vector<GroupCandidate> out;
  if (groups.size() < 2) return out;
  for (const std::string& g : groups) {
    int cross = 0;
    int inside = 0;
    int inside_slow = 0;
    GroupCandidate c{g, {}, 0};
    std::set<int> slow_members;
    for (int i = 0; i < a.n; ++i) {
      for (int j = 0; j < a.n; ++j) {
        if (!a.measured(i, j) || a.explained[i][j]) continue;
        if (group[i].empty() || group[j].empty()) continue;
        const bool in_i = group[i] == g;
        const bool in_j = group[j] == g;
        if (in_i && in_j) {
          ++inside;
          inside_slow += a.slow[i][j];
        } else if (in_i || in_j) {
          ++cross;
          if (a.slow[i][j]) {
            c.slow_pairs.emplace_back(i, j);
            slow_members.insert(in_i ? i : j);
          }
        }
      }
    }
    // Without healthy pairs inside the group, or with one member behind the slow pairs, a host
    // link explains the pattern as well as the uplink does.
    if (cross == 0 || inside == 0 || 2 * inside_slow >= inside || slow_members.size() < 2) continue;
    c.slow_fraction = static_cast<double>(c.slow_pairs.size()) / cross;
    if (c.slow_fraction >= rules.uplink_slow_fraction) out.push_back(std::move(c));
  }
  return out;
}

void append_group_suspects(Analysis& a, const OutlierInput& in, const OutlierRules& rules,
                           std::vector<Suspect>& suspects) {
  const Topology& topo = *in.topology;
  std::vector<std::string> leaf(a.n);
  std::set<std::string> leaves;
  for (int i = 0; i < a.n; ++i) {
    leaf[i] = topo.leaf_of(in.hosts[i]);
    if (!leaf[i].empty()) leaves.insert(leaf[i]);
  }
  std::vector<GroupCandidate> candidates = uplink_candidates(a, leaf, rules);
  if (candidates.empty()) return;

  // Rule 3's spine step: a spine all of whose measured leaves are candidates.
  std::map<std::string, std::vector<const GroupCandidate*>> by_spine;
  std::map<std::string, int> leaves_of_spine;
  for (const std::string& l : leaves) {
    const auto it = topo.spine_of_leaf.find(l);
    if (it != topo.spine_of_leaf.end()) ++leaves_of_spine[it->second];
  }
  for (const GroupCandidate& c : candidates) {
    const auto it = topo.spine_of_leaf.find(c.group);
    if (it != topo.spine_of_leaf.end()) by_spine[it->second].push_back(&c);
  }
  std::set<std::string> leaves_under_named_spine;
  for (const auto& [spine, members] : by_spine) {
    const int under = leaves_of_spine[spine];
    const bool all_leaves = static_cast<int>(members.size()) == under && under >= 2;
    const bool enough = under >= 3 || static_cast<int>(leaves.size()) > under;
    if (!all_leaves || !enough) continue;
    Suspect s{SuspectKind::kSpine, spine, {}, 0};
    std::set<std::pair<int, int>> pairs;
    double fraction = 0;
    for (const GroupCandidate* c : members) {
      pairs.insert(c->slow_pairs.begin(), c->slow_pairs.end());
      fraction += c->slow_fraction / static_cast<double>(members.size());
      leaves_under_named_spine.insert(c->group);
    }
    for (const auto& [i, j] : pairs) s.evidence.push_back(a.evidence(i, j));
    s.confidence = fraction;
    suspects.push_back(std::move(s));
  }
  // Two leaves whose cross pairs are all slow: either uplink (or the spine between) fits.
  const double ambiguity = leaves.size() == 2 ? 0.5 : 1.0;
  for (const GroupCandidate& c : candidates) {
    if (leaves_under_named_spine.count(c.group)) continue;
    Suspect s{SuspectKind::kLeafUplink, c.group, {}, c.slow_fraction * ambiguity};
    for (const auto& [i, j] : c.slow_pairs) s.evidence.push_back(a.evidence(i, j));
    suspects.push_back(std::move(s));
  }
  for (const GroupCandidate& c : candidates) {
    for (const auto& [i, j] : c.slow_pairs) a.explained[i][j] = true;
  }
}

void append_host_suspects(Analysis& a, const OutlierRules& rules, std::vector<Suspect>& suspects) {
  std::vector<int> bad_hosts;
  for (int h = 0; h < a.n; ++h) {
    int measured = 0;
    int slow = 0;
    std::set<int> peers;
    for (int p = 0; p < a.n; ++p) {
      for (const auto& [i, j] : {std::pair{h, p}, std::pair{p, h}}) {
        if (!a.measured(i, j) || a.explained[i][j]) continue;
        ++measured;
        slow += a.slow[i][j];
        peers.insert(p);
      }
    }
    if (static_cast<int>(peers.size()) < rules.min_host_peers || slow == 0) continue;
    const double fraction = static_cast<double>(slow) / measured;
    if (fraction < rules.host_slow_fraction) continue;
    Suspect s{SuspectKind::kHostLink, a.in.hosts[h], {}, 0};
    for (int p = 0; p < a.n; ++p) {
      for (const auto& [i, j] : {std::pair{h, p}, std::pair{p, h}}) {
        if (a.measured(i, j) && !a.explained[i][j] && a.slow[i][j]) {
          s.evidence.push_back(a.evidence(i, j));
        }
      }
    }
    // More peers agreeing make a host link likelier than coincident path faults.
    s.confidence = fraction * (1.0 - std::pow(0.5, static_cast<double>(peers.size())));
    suspects.push_back(std::move(s));
    bad_hosts.push_back(h);
  }
  // Marked only after every host was judged, so the verdicts do not depend on host order.
  for (const int h : bad_hosts) {
    for (int p = 0; p < a.n; ++p) {
      if (a.measured(h, p)) a.explained[h][p] = true;
      if (a.measured(p, h)) a.explained[p][h] = true;
    }
  }
}

void append_path_suspects(Analysis& a, std::vector<Suspect>& suspects) {
  for (int i = 0; i < a.n; ++i) {
    for (int j = i + 1; j < a.n; ++j) {
      const bool ij = a.measured(i, j) && a.slow[i][j] && !a.explained[i][j];
      const bool ji = a.measured(j, i) && a.slow[j][i] && !a.explained[j][i];
      if (!ij && !ji) continue;
      Suspect s{SuspectKind::kPath, a.in.hosts[i] + "<->" + a.in.hosts[j], {}, 0};
      if (ij) s.evidence.push_back(a.evidence(i, j));
      if (ji) s.evidence.push_back(a.evidence(j, i));
      // Both directions slow is a fault; one direction alone may be noise until retested.
      s.confidence = ij && ji ? 0.8 : 0.6;
      suspects.push_back(std::move(s));
    }
  }
}

}  // namespace

std::string_view to_string(SuspectKind kind) {
  switch (kind) {
    case SuspectKind::kHostLink: return "host-link";
    case SuspectKind::kPath: return "path";
    case SuspectKind::kLeafUplink: return "leaf-uplink";
    case SuspectKind::kSpine: return "spine";
  }
  return "unknown";
}

Expected<OutlierReport> analyze_outliers(const OutlierInput& input, const OutlierRules& rules) {
  FB_TRY(validate(input));
  const int n = static_cast<int>(input.hosts.size());
  OutlierReport report;

  std::vector<double> all;
  std::vector<double> host_medians;
  for (int h = 0; h < n; ++h) {
    std::vector<double> mine;
    for (int p = 0; p < n; ++p) {
      if (p == h) continue;
      if (!std::isnan(input.gbps[h][p])) mine.push_back(input.gbps[h][p]);
      if (!std::isnan(input.gbps[p][h])) mine.push_back(input.gbps[p][h]);
    }
    if (!mine.empty()) host_medians.push_back(median_of(std::move(mine)));
    for (int p = 0; p < n; ++p) {
      if (p != h && !std::isnan(input.gbps[h][p])) all.push_back(input.gbps[h][p]);
    }
  }
  report.measured_pairs = static_cast<int>(all.size());
  if (all.empty()) return report;

  report.median_gbps = median_of(host_medians);
  std::vector<double> upper_deviation;
  for (const double v : all) {
    if (v >= report.median_gbps) upper_deviation.push_back(v - report.median_gbps);
  }
  report.deviation_gbps = upper_deviation.empty() ? 0 : median_of(std::move(upper_deviation));
  const double sigma = std::clamp(kMadToSigma * report.deviation_gbps, rules.sigma_floor_fraction * report.median_gbps,
                                  rules.sigma_ceiling_fraction * report.median_gbps);
  report.slow_below_gbps = report.median_gbps - rules.mad_k * sigma;
  const double bar = input.expected_gbps ? *input.expected_gbps * input.efficiency
                                         : std::numeric_limits<double>::quiet_NaN();
  if (input.expected_gbps) report.slow_below_gbps = std::min(report.slow_below_gbps, bar);

  Analysis a{input, n, report.median_gbps, bar,
             std::vector<std::vector<bool>>(n, std::vector<bool>(n, false)),
             std::vector<std::vector<bool>>(n, std::vector<bool>(n, false))};
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      a.slow[i][j] = a.measured(i, j) && input.gbps[i][j] < report.slow_below_gbps;
      report.slow_pairs += a.slow[i][j];
    }
  }
  if (report.slow_pairs == 0) return report;

  if (input.topology) append_group_suspects(a, input, rules, report.suspects);
  append_host_suspects(a, rules, report.suspects);
  append_path_suspects(a, report.suspects);
  std::stable_sort(report.suspects.begin(), report.suspects.end(),
                   [](const Suspect& x, const Suspect& y) {
                     const auto rank = [](SuspectKind k) {
                       switch (k) {
                         case SuspectKind::kSpine: return 0;
                         case SuspectKind::kLeafUplink: return 1;
                         case SuspectKind::kHostLink: return 2;
                         case SuspectKind::kPath: return 3;
                       }
                       return 4;
                     };
                     if (rank(x.kind) != rank(y.kind)) return rank(x.kind) < rank(y.kind);
                     return x.confidence > y.confidence;
                   });
  return report;
}

}  // namespace fb
