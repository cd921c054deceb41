// Cutting a time-bounded run into fixed intervals (soak): an intermittent link shows as a few
// low intervals that the run's average hides. Pure: tested on synthetic samples.
#pragma once

#include <span>

#include "plan.h"
#include "results/record.h"

namespace fb {

struct SoakSamples {
  std::span<const double> samples_us;  // consecutive, in order, no gaps between them
  // Wall time one sample stands for, as a multiple of its value: 2 for ping-pong latency
  // (a sample is half a round trip), 1 otherwise.
  double time_per_sample = 1;
  double bytes_per_sample = 0;  // payload moved per sample (bytes, or window x bytes)
  bool latency = false;         // judge intervals by latency p50 instead of bandwidth
};

// Intervals start at 0 and follow the samples' cumulative time; a sample belongs to the
// interval it starts in. A last interval shorter than half the interval joins the one before,
// so a short tail is not judged on a handful of samples. No samples: no intervals.
SoakSummary summarize_soak(const SoakSamples& in, const SoakPlan& plan);

}  // namespace fb
