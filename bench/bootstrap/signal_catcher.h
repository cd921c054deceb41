// While a local job runs, SIGINT and SIGTERM are blocked in the launching thread and read
// from a signalfd instead, so the launcher outlives them long enough to pass them on to its
// ranks and reap them. The previous mask comes back on destruction; a signal still pending
// then takes its ordinary effect.
#pragma once

#include <signal.h>

#include "bootstrap/unique_fd.h"
#include "fabricbench/transport/status.h"

namespace fb {

class SignalCatcher {
 public:
  SignalCatcher();
  ~SignalCatcher();
  SignalCatcher(const SignalCatcher&) = delete;
  SignalCatcher& operator=(const SignalCatcher&) = delete;

  const Status& status() const { return status_; }
  // Readable when a caught signal is pending.
  int fd() const { return fd_.get(); }
  // The caught signal's number, or 0 if none was pending.
  int take();
  // In a forked child: ordinary signal behaviour back, and the fd closed.
  void release_in_child();

 private:
  Status status_;
  sigset_t previous_{};
  bool blocked_ = false;
  UniqueFd fd_;
};

}  // namespace fb
