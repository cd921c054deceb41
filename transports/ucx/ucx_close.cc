// Orderly, collective shutdown of a rank's UCX context.
#include <sched.h>

#include <atomic>
#include <thread>

#include "ucx_context.h"
#include "ucx_status.h"

namespace fb::ucx {
namespace {

// How long a destructor waits for endpoints that close() did not close.
constexpr std::chrono::milliseconds kAbandonBudget{1000};

}  // namespace

// Endpoints left open (no close(), or a close() that failed part way) close here; the wait is
// bounded because peers may be gone.
UcxContext::~UcxContext() { (void)close_endpoints(Deadline::after(kAbandonBudget)); }

// Flush, so every operation this rank posted has reached its peer; a barrier, so no peer still
// sends to this rank; close the endpoints; and a second barrier, so no worker is destroyed
// while a peer's closing endpoint still talks to it. Both barriers keep the worker progressing.
Status UcxContext::close() {
  if (closed_) return {};
  closed_ = true;
  const Deadline deadline = Deadline::after(options_.timeout);
  FB_TRY(flush_worker(deadline));
  FB_TRY(barrier_while_progressing());
  Status closed = close_endpoints(deadline);
  FB_TRY(barrier_while_progressing());
  return closed;
}

Status UcxContext::flush_worker(const Deadline& deadline) {
  ucp_request_param_t param{};
  const ucs_status_t status = finish_request(worker_, ucp_worker_flush_nbx(worker_, &param), deadline.at());
  if (status == UCS_ERR_TIMED_OUT)
    return Status::error(StatusCode::kTimeout,
                         "rank " + std::to_string(rank()) +
                             ": ucp_worker_flush_nbx did not complete within " +
                             std::to_string(deadline.budget().count()) +
                             " ms (a peer stopped progressing before close()?)",
                         FB_HERE);
  if (status != UCS_OK) return native_error(status, "ucp_worker_flush_nbx", FB_HERE);
  return {};
}

// A peer may need this worker to answer while it flushes or closes (software RMA over tcp,
// rendezvous acknowledgements), so the worker keeps progressing while the bootstrap barrier
// blocks. The worker is single-threaded: the helper is its only user until it is joined.
Status UcxContext::barrier_while_progressing() {
  std::atomic<bool> done{false};
  std::thread progress([this, &done] {
    while (!done.load(std::memory_order_acquire))
      if (ucp_worker_progress(worker_) == 0) sched_yield();
  });
  Status status = bootstrap_.barrier();
  done.store(true, std::memory_order_release);
  progress.join();
  return status;
}

// All endpoints close at once, in UCX's flushing mode, so the wait is one deadline in total.
Status UcxContext::close_endpoints(const Deadline& deadline) {
  std::vector<std::pair<int, ucs_status_ptr_t>> closing;
  for (auto& endpoint : endpoints_) {
    if (!endpoint || !endpoint->handle()) continue;
    ucp_request_param_t param{};
    closing.emplace_back(endpoint->peer(), ucp_ep_close_nbx(endpoint->release(), &param));
  }
  Status first_error;
  for (auto [peer, request] : closing) {
    const ucs_status_t status = finish_request(worker_, request, deadline.at());
    if (status != UCS_OK && first_error.ok())
      first_error = native_error(status, "ucp_ep_close_nbx to rank " + std::to_string(peer), FB_HERE);
  }
  return first_error;
}

}  // namespace fb::ucx
