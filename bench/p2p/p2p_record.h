// Turns what every rank measured for one size into the record rank 0 reports. Pure: tested
// on hand-made inputs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fabricbench/transport/bootstrap.h"
#include "p2p/pair_session.h"
#include "results/record.h"

namespace fb {

inline constexpr uint64_t kRecordSampleCap = 10000;
// Samples a rank ships to rank 0 for percentiles; beyond this the summary uses the first ones.
inline constexpr uint64_t kGatheredSampleCap = 1'000'000;

struct RankResult {
  int rank = 0;
  std::string host;
  std::string role;  // "initiator" or "responder"
  int peer = -1;
  Status status;
  RankMeasurement measurement;
  std::optional<SoakSummary> soak;  // initiators of time-bounded runs
};

Bytes serialize(const RankResult& result);
Expected<RankResult> deserialize_rank_result(ByteSpan bytes);

// Pairs are (initiator, responder) = (2k, 2k+1). Latency percentiles merge every initiator's
// samples; bandwidth and message rate add up over pairs.
Record build_p2p_record(RecordIdentity identity, int window, const std::vector<RankResult>& ranks);

Record skipped_record(RecordIdentity identity, std::string reason);

}  // namespace fb
