// The hub of a star exchange. It collects one contribution per rank per exchange ("round")
// and sends every member the concatenation. It also decides when the job has failed: a rank
// that is gone, or that has not contributed within the timeout once the round started, aborts
// the job, and every member still connected is told which rank and why.
//
// The hub owns no sockets and never blocks on poll(): its owner polls the fds it asks for
// (watched_ranks()) and reports what happened. That lets the local launcher serve the hub
// for the whole job while tcp rank 0 drives it only inside its own allgather.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bootstrap/frame.h"
#include "fabricbench/transport/bootstrap.h"
#include "fabricbench/transport/deadline.h"
#include "fabricbench/transport/status.h"

namespace fb {

class StarHub {
 public:
  // name(rank) identifies a rank in messages: "rank 2 (pid 4242)", "rank 2 (host node3)".
  using RankNamer = std::function<std::string(int rank)>;

  StarHub(int size, std::chrono::milliseconds timeout, RankNamer name);

  // A member reachable over fd (not owned). A rank never attached is the hub's own and
  // contributes through contribute().
  void attach(int rank, int fd);
  int fd(int rank) const { return slots_[rank].fd; }

  // Members whose fd should be polled for input now: those that owe the open round a
  // contribution, or every connected member when no round is open or the job failed (so
  // an exit between rounds is still noticed).
  std::vector<int> watched_ranks() const;
  // Until the open round's deadline; -1 while idle.
  int poll_timeout_ms() const;

  void contribute(int rank, Bytes bytes);
  // Reads one frame from a member that poll() reported ready. Returns false when the
  // member's connection has ended; the owner then calls member_gone().
  bool read_from(int rank);
  // how: what happened to it, completing "rank 1 (pid 4242) <how>".
  void member_gone(int rank, std::string how);
  void check_deadline();

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  int connected_members() const;
  uint64_t completed_rounds() const { return round_ - 1; }
  const std::vector<Bytes>& last_result() const { return result_; }
  bool failed() const { return !failure_.ok(); }
  const Status& failure() const { return failure_; }
  // Fails the job from outside (for example a launcher that is shutting down).
  void fail(StatusCode code, std::string message);

 private:
  struct Slot {
    int fd = -1;
    bool connected = false;
    bool gone = false;  // its connection ended
    std::string gone_how;
    std::optional<Bytes> contribution;
  };

  void accept_contribution(int rank, Bytes bytes);
  void open_round();
  void fail_if_gone_members_owe();
  void complete_round_if_full();
  void broadcast(FrameType type, const Bytes& payload, std::chrono::milliseconds bound);
  std::string missing_ranks() const;
  std::string exchange_name() const { return "bootstrap exchange " + std::to_string(round_); }

  const int size_;
  std::chrono::milliseconds timeout_;
  RankNamer name_;
  std::vector<Slot> slots_;
  uint64_t round_ = 1;  // the exchange being collected, counted from 1 for messages
  int contributed_ = 0;
  std::optional<Clock::time_point> round_deadline_;
  std::vector<Bytes> result_;
  Status failure_;
};

}  // namespace fb
