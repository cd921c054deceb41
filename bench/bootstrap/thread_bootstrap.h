// Ranks as threads of one process: the bootstrap for tests and for in-process transports.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "fabricbench/transport/bootstrap.h"
#include "fabricbench/transport/deadline.h"

namespace fb {

// State shared by the ranks of one in-process job. Create one, then give each thread its
// own ThreadBootstrap.
class ThreadGroup {
 public:
  explicit ThreadGroup(int size);
  int size() const { return size_; }
  // Marks a rank as gone, so peers waiting on it fail instead of hanging.
  void leave(int rank);

 private:
  friend class ThreadBootstrap;
  const int size_;
  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t round_ = 0;  // completed exchanges
  int arrived_ = 0;
  std::vector<Bytes> slots_;
  std::vector<Bytes> result_;
  std::vector<bool> arrived_ranks_;
  std::vector<bool> gone_;
};

class ThreadBootstrap final : public Bootstrap {
 public:
  ThreadBootstrap(std::shared_ptr<ThreadGroup> group, int rank);
  ~ThreadBootstrap() override;

  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }
  std::string kind() const override { return "thread"; }
  Expected<std::vector<Bytes>> allgather(ByteSpan mine) override;

 private:
  std::shared_ptr<ThreadGroup> group_;
  int rank_;
};

}  // namespace fb
