// A device context's asynchronous events (port down, QP or CQ in error, device fatal): the
// kernel reports them on the context's async fd, not through any completion, so a thread
// waits on that fd and records the first fatal one; the context's next operation or progress
// pass then fails with it instead of waiting for completions that will never come.
#pragma once

#include <infiniband/verbs.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "fabricbench/transport/status.h"

namespace fb::verbs {

// An eventfd, closed once.
class EventFd {
 public:
  EventFd() = default;
  explicit EventFd(int fd) : fd_(fd) {}
  EventFd(EventFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  EventFd& operator=(EventFd&&) = delete;
  ~EventFd();
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

class AsyncEvents {
 public:
  // Starts watching `context` (which must outlive this object). `qp_peers` names the peer
  // rank of each QP number, `port` the port this rank uses, `device` its name, for messages.
  static Expected<std::unique_ptr<AsyncEvents>> start(ibv_context* context, std::string device, int port,
                                                      std::map<uint32_t, int> qp_peers);
  // Wakes the thread and joins it; every event it took was acknowledged.
  ~AsyncEvents();
  AsyncEvents(const AsyncEvents&) = delete;
  AsyncEvents& operator=(const AsyncEvents&) = delete;

  // One atomic load while nothing went wrong: cheap enough for every progress pass.
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  // The first fatal event as an error (ok while there is none).
  Status error() const;
  // Every event seen so far, fatal or not, for describe(): "IBV_EVENT_PORT_ERR x1, ...".
  std::string seen() const;

 private:
  AsyncEvents(ibv_context* context, std::string device, int port, std::map<uint32_t, int> qp_peers,
              EventFd wake);
  void run();
  void record(const ibv_async_event& event);

  ibv_context* context_;
  const std::string device_;
  const int port_;
  const std::map<uint32_t, int> qp_peers_;  // read-only once the thread runs
  EventFd wake_;
  std::atomic<bool> failed_{false};
  mutable std::mutex mutex_;
  Status first_;                         // guarded by mutex_
  std::map<std::string, int> counts_;    // guarded by mutex_
  std::thread thread_;                   // last: started after everything it reads
};

// "IBV_EVENT_PORT_ERR" for an event type (ibv_event_type_str gives the prose).
const char* event_name(ibv_event_type type);
// Whether an event means this rank's QPs, CQ or port can no longer carry its traffic.
bool is_fatal(ibv_event_type type);

}  // namespace fb::verbs
