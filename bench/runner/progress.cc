#include "runner/progress.h"

#include <unistd.h>

namespace fb {

Progress::Progress(bool enabled, size_t total_steps)
    : enabled_(enabled), total_(total_steps), start_(Clock::now()) {}

Progress::~Progress() { clear(); }

bool Progress::wanted(bool quiet) { return !quiet && isatty(STDERR_FILENO); }

void Progress::step(const std::string& label) {
  if (!enabled_) return;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  std::string eta = "";
  if (done_ > 0) {
    const double left = elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_);
    eta = " ETA " + std::to_string(static_cast<long>(left + 0.5)) + "s";
  }
  std::fprintf(stderr, "\r\033[K%s (%zu/%zu)%s", label.c_str(), done_ + 1, total_, eta.c_str());
  std::fflush(stderr);
  shown_ = true;
  ++done_;
}

void Progress::clear() {
  if (!shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace fb
