// Progress for long runs on stderr ("[p2p bw] 64K (7/36) ETA 12s"), only when stderr is a
// terminal and the run is not --quiet, so logs and pipes stay clean.
#pragma once

#include <cstdio>
#include <string>

#include "fabricbench/transport/deadline.h"

namespace fb {

class Progress {
 public:
  Progress(bool enabled, size_t total_steps);
  ~Progress();
  static bool wanted(bool quiet);
  void step(const std::string& label);
  void clear();

 private:
  bool enabled_;
  size_t total_;
  size_t done_ = 0;
  Clock::time_point start_;
  bool shown_ = false;
};

}  // namespace fb
