#pragma once

#include <chrono>

namespace fb {

using Clock = std::chrono::steady_clock;

// A point in time after which a blocking exchange gives up and reports who did not answer.
class Deadline {
 public:
  static Deadline after(std::chrono::milliseconds timeout) {
    return Deadline(Clock::now() + timeout, timeout);
  }
  // Same as after(), from a time point the caller already read (saves a clock read).
  static Deadline after(Clock::time_point now, std::chrono::milliseconds timeout) {
    return Deadline(now + timeout, timeout);
  }
  static Deadline never() { return Deadline(Clock::time_point::max(), std::chrono::hours(24 * 365)); }

  bool expired() const { return Clock::now() >= at_; }
  Clock::time_point at() const { return at_; }
  std::chrono::milliseconds budget() const { return budget_; }
  // Milliseconds left, clamped to [0, INT_MAX], for poll(2).
  int poll_timeout_ms() const;

 private:
  Deadline(Clock::time_point at, std::chrono::milliseconds budget) : at_(at), budget_(budget) {}
  Clock::time_point at_;
  std::chrono::milliseconds budget_;
};

}  // namespace fb
