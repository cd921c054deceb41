#include "bootstrap/thread_bootstrap.h"

namespace fb {

ThreadGroup::ThreadGroup(int size)
    : size_(size), slots_(size), arrived_ranks_(size, false), gone_(size, false) {}

void ThreadGroup::leave(int rank) {
  std::lock_guard lock(mutex_);
  gone_[rank] = true;
  changed_.notify_all();
}

ThreadBootstrap::ThreadBootstrap(std::shared_ptr<ThreadGroup> group, int rank)
    : group_(std::move(group)), rank_(rank) {}

ThreadBootstrap::~ThreadBootstrap() { group_->leave(rank_); }

Expected<std::vector<Bytes>> ThreadBootstrap::allgather(ByteSpan mine) {
  ThreadGroup& g = *group_;
  std::unique_lock lock(g.mutex_);
  const uint64_t my_round = g.round_;
  g.slots_[rank_].assign(mine.begin(), mine.end());
  g.arrived_ranks_[rank_] = true;
  if (++g.arrived_ == g.size_) {
    g.result_ = g.slots_;
    g.arrived_ = 0;
    g.arrived_ranks_.assign(g.size_, false);
    ++g.round_;
    g.changed_.notify_all();
    return g.result_;
  }
  const auto deadline = Clock::now() + timeout();
  for (;;) {
    if (g.round_ != my_round) return g.result_;
    std::string missing;
    for (int r = 0; r < g.size_; ++r)
      if (!g.arrived_ranks_[r] && g.gone_[r]) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    if (!missing.empty())
      return Status::error(StatusCode::kPeerFailed,
                           "rank " + std::to_string(rank_) + ": bootstrap exchange failed: rank(s) " +
                               missing + " left the job", FB_HERE);
    if (g.changed_.wait_until(lock, deadline) == std::cv_status::timeout && g.round_ == my_round) {
      for (int r = 0; r < g.size_; ++r)
        if (!g.arrived_ranks_[r]) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
      // Withdraw so a late peer cannot complete a round this rank has abandoned.
      g.arrived_ranks_[rank_] = false;
      --g.arrived_;
      return Status::error(StatusCode::kTimeout,
                           "rank " + std::to_string(rank_) + ": bootstrap exchange timed out after " +
                               std::to_string(timeout().count()) + " ms waiting for rank(s) " + missing,
                           FB_HERE);
    }
  }
}

}  // namespace fb
