#include "runner/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fb {

double percentile_nearest_rank(std::span<const double> sorted, double p) {
  const double n = static_cast<double>(sorted.size());
  // The small epsilon keeps p*n/100 = 999.0000001 (from binary rounding) at rank 999.
  const double rank = std::ceil(p / 100.0 * n - 1e-9);
  const size_t index = rank < 1 ? 0 : std::min(sorted.size() - 1, static_cast<size_t>(rank) - 1);
  return sorted[index];
}

LatencySummary summarize(std::vector<double> samples) {
  LatencySummary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.min = samples.front();
  s.max = samples.back();
  s.p50 = percentile_nearest_rank(samples, 50);
  s.p90 = percentile_nearest_rank(samples, 90);
  s.p99 = percentile_nearest_rank(samples, 99);
  s.p999 = percentile_nearest_rank(samples, 99.9);
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  return s;
}

Bandwidth bandwidth_from(double bytes, double seconds) {
  if (seconds <= 0) return {};
  const double bytes_per_s = bytes / seconds;
  return {bytes_per_s / 1e9, bytes_per_s * 8 / 1e9};
}

}  // namespace fb
