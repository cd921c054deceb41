// Statistics over per-iteration samples: nearest-rank percentiles, as the architecture's
// measurement rules define them (no interpolation, so every reported value was observed).
#pragma once

#include <span>
#include <vector>

#include "results/record.h"

namespace fb {

// p in [0, 100]; `sorted` ascending and non-empty.
double percentile_nearest_rank(std::span<const double> sorted, double p);

// min, p50, p90, p99, p99.9, max, mean; all zero for no samples.
LatencySummary summarize(std::vector<double> samples);

Bandwidth bandwidth_from(double bytes, double seconds);

}  // namespace fb
