// Turns what every rank measured for one collective case into the record rank 0 reports, in
// nccl-tests' terms (time = the slowest rank's mean per iteration; algbw = bytes / time;
// busbw = algbw x the collective's bus factor; device time, where measured, is that same rank's
// on the device's clock). Pure: tested on hand-made inputs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "counters/counter_probe.h"
#include "fabricbench/collectives/algorithm.h"
#include "fabricbench/transport/bootstrap.h"
#include "results/record.h"

namespace fb {

// Samples a rank ships to rank 0 per case (per-iteration times); the record keeps those of
// the slowest rank.
inline constexpr uint64_t kCollectiveSampleCap = 1000;

struct CollectiveRankResult {
  int rank = 0;
  std::string host;
  Status status;
  uint64_t iterations = 0;
  double elapsed_s = 0;  // the timed iterations, back to back
  // The same iterations on the device's clock, for memory that has one (CUDA events).
  std::optional<double> device_elapsed_s;
  bool checked = false;
  uint64_t wrong = 0;
  std::vector<double> samples_us;  // per iteration, the first kCollectiveSampleCap
  HostCounters counters;           // this host's, on the rank that reads them
};

Bytes serialize(const CollectiveRankResult& result);
Expected<CollectiveRankResult> deserialize_collective_result(ByteSpan bytes);

// 2(n-1)/n for all-reduce, (n-1)/n for all-gather, reduce-scatter and all-to-all.
double bus_factor(CollectiveKind kind, int ranks);

struct CollectiveCase {
  RecordIdentity identity;  // bytes = bytes moved (count x element size)
  CollectiveShape shape;
  uint64_t bytes_requested = 0;
  uint64_t warmup = 0;
};

Record build_collective_record(const CollectiveCase& c, const std::vector<CollectiveRankResult>& ranks);

}  // namespace fb
