#include "runner/soak.h"

#include <algorithm>
#include <vector>

#include "runner/stats.h"

namespace fb {
namespace {

struct Slice {
  size_t first = 0, count = 0;
  double start_us = 0, span_us = 0;
};

std::vector<Slice> slice_by_time(const SoakSamples& in, double interval_us) {
  std::vector<Slice> slices;
  double now_us = 0;
  for (size_t i = 0; i < in.samples_us.size(); ++i) {
    const auto index = static_cast<size_t>(now_us / interval_us);
    if (slices.empty() || index >= slices.size()) {
      slices.resize(index + 1);
      slices[index] = Slice{i, 0, now_us, 0};
    }
    Slice& s = slices[index];
    ++s.count;
    const double span = in.samples_us[i] * in.time_per_sample;
    s.span_us += span;
    now_us += span;
  }
  // A sample longer than an interval leaves empty slices behind it: drop them.
  std::erase_if(slices, [](const Slice& s) { return s.count == 0; });
  if (slices.size() >= 2 && slices.back().span_us < interval_us / 2) {
    Slice tail = slices.back();
    slices.pop_back();
    slices.back().count += tail.count;
    slices.back().span_us += tail.span_us;
  }
  return slices;
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[(values.size() - 1) / 2];
}

}  // namespace

SoakSummary summarize_soak(const SoakSamples& in, const SoakPlan& plan) {
  SoakSummary soak;
  soak.interval_s = plan.interval_s;
  soak.low_fraction = plan.low_fraction;
  soak.metric = in.latency ? "latency_p50" : "bandwidth";
  if (plan.interval_s <= 0) return soak;
  std::vector<double> metric;
  for (const Slice& s : slice_by_time(in, plan.interval_s * 1e6)) {
    IntervalSummary interval;
    interval.start_s = s.start_us * 1e-6;
    interval.duration_s = s.span_us * 1e-6;
    interval.samples = s.count;
    interval.latency_us = summarize({in.samples_us.begin() + s.first, in.samples_us.begin() + s.first + s.count});
    interval.bandwidth = bandwidth_from(in.bytes_per_sample * static_cast<double>(s.count), interval.duration_s);
    metric.push_back(in.latency ? interval.latency_us.p50 : interval.bandwidth.gbytes_per_s);
    soak.intervals.push_back(interval);
  }
  if (soak.intervals.empty()) return soak;
  const double median = median_of(metric);
  for (size_t i = 0; i < metric.size(); ++i) {
    const bool low = in.latency ? metric[i] * plan.low_fraction > median : metric[i] < median * plan.low_fraction;
    soak.intervals[i].low = low;
    soak.low_count += low ? 1 : 0;
    const auto worst = static_cast<size_t>(std::max(soak.worst, 0));
    const bool worse = in.latency ? metric[i] > metric[worst] : metric[i] < metric[worst];
    if (soak.worst < 0 || worse) soak.worst = static_cast<int>(i);
  }
  return soak;
}

}  // namespace fb
