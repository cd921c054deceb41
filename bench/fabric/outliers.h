// Naming the host or link behind slow pairs: a pure function over a sweep's bandwidth matrix,
// so the rules can be tested on synthetic fabrics and rerun on stored results.
//
// The rules, in order:
//  1. Reference: the median of the per-host medians of the measured pairs. (Not the plain
//     median of all pairs: in a 4-host fabric one bad host touches half of the ordered pairs,
//     and the plain median would land on the slow ones.) Spread: the median deviation of the
//     pairs at or above the reference, which healthy noise fills but slow pairs cannot inflate.
//  2. A pair is slow below min(expected x efficiency, reference - k * sigma), where sigma is
//     1.4826 x that deviation (the normal-consistent MAD), floored at a fraction of the
//     reference so a perfectly quiet fabric does not make every small dip slow, and capped
//     at a larger fraction so a noisy one still sees a pair at a fraction of the rest. Without an
//     expected rate only the second bound applies.
//  3. With a topology: a leaf whose pairs to other leaves are (nearly) all slow, while its
//     hosts are healthy among themselves, has a bad uplink. With only two leaves both uplinks
//     explain the pattern, so both are named at half confidence. When every leaf under one
//     spine looks that way (and the spine has 3+ leaves, or the fabric has leaves elsewhere),
//     the spine is named instead of its leaves.
//  4. A host whose remaining pairs are (nearly) all slow, over at least two peers, has a bad
//     host link; its pairs are not reported again.
//  5. Every other slow pair is a path problem (both directions of a pair form one suspect).
//
// Confidence ranks suspects (0..1); it is not a probability. Retesting a suspect before it is
// reported is the caller's job.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/topology.h"
#include "fabricbench/transport/status.h"

namespace fb {

enum class SuspectKind { kHostLink, kPath, kLeafUplink, kSpine };
// "host-link", "path", "leaf-uplink", "spine": the names the JSON uses.
std::string_view to_string(SuspectKind kind);

struct PairEvidence {
  std::string from;
  std::string to;
  double measured_gbps = 0;
  double expected_gbps = 0;  // expected rate x efficiency; NaN without an expected rate
  double median_gbps = 0;    // the fabric's reference (rule 1)
};

struct Suspect {
  SuspectKind kind = SuspectKind::kPath;
  std::string subject;  // host, leaf or spine name; "a<->b" for a path
  std::vector<PairEvidence> evidence;  // the slow pairs it explains
  double confidence = 0;
};

struct OutlierInput {
  std::vector<std::string> hosts;
  // gbps[from][to] for ordered pairs, GB/s; NaN where not measured; the diagonal is ignored.
  std::vector<std::vector<double>> gbps;
  std::optional<double> expected_gbps;  // the link rate; --expect-gbps or the NIC's speed
  double efficiency = 0.9;              // the share of the link rate a healthy pair reaches
  const Topology* topology = nullptr;   // optional; not owned
};

struct OutlierRules {
  double mad_k = 3.0;
  double sigma_floor_fraction = 0.05;  // sigma >= 5 % of the reference: slow is >= 15 % below
  // sigma <= 10 % of the reference: slow is at most 30 % below. In a small fabric a few stalled
  // healthy pairs can pull the reference between the healthy and the slow group and inflate the
  // spread until nothing counts as slow (the threshold even went negative); a pair at a
  // quarter of the reference must never pass as healthy noise. Noise this cap lets through is
  // what the retest is for.
  double sigma_ceiling_fraction = 0.10;
  double host_slow_fraction = 0.75;    // "nearly all" of a host's pairs
  double uplink_slow_fraction = 0.75;  // "nearly all" of a leaf's pairs to other leaves
  int min_host_peers = 2;              // one peer cannot tell a host link from a path
};

struct OutlierReport {
  double median_gbps = 0;      // rule 1's reference
  double deviation_gbps = 0;   // rule 1's spread (before scaling and floor)
  double slow_below_gbps = 0;  // rule 2's threshold
  int measured_pairs = 0;
  int slow_pairs = 0;
  std::vector<Suspect> suspects;  // spines, leaf uplinks, host links, paths; each by confidence
};

// Errors: a matrix that is not hosts x hosts, repeated or empty host names, negative or
// infinite bandwidths, efficiency outside (0, 1], a non-positive expected rate.
Expected<OutlierReport> analyze_outliers(const OutlierInput& input, const OutlierRules& rules = {});

}  // namespace fb
