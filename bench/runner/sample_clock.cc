#include "runner/sample_clock.h"

#include <fstream>
#include <string>

namespace fb {
namespace {

// A TSC that ticks at a constant rate through frequency and sleep states, per the kernel.
bool invariant_tsc() {
#if defined(__x86_64__)
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    return line.find(" constant_tsc") != std::string::npos && line.find(" nonstop_tsc") != std::string::npos;
  }
#endif
  return false;
}

constexpr std::chrono::milliseconds kCalibration{20};

}  // namespace

SampleClock::SampleClock() {
  using std::chrono::steady_clock;
  us_per_tick_ = std::chrono::duration<double, std::micro>(steady_clock::duration(1)).count();
#if defined(__x86_64__)
  if (!invariant_tsc()) return;
  const auto t0 = steady_clock::now();
  const Ticks c0 = __rdtsc();
  while (steady_clock::now() - t0 < kCalibration) {
  }
  const auto t1 = steady_clock::now();
  const Ticks c1 = __rdtsc();
  if (c1 <= c0) return;
  tsc_ = true;
  us_per_tick_ = std::chrono::duration<double, std::micro>(t1 - t0).count() / static_cast<double>(c1 - c0);
#endif
}

const SampleClock& SampleClock::instance() {
  static const SampleClock clock;
  return clock;
}

}  // namespace fb
