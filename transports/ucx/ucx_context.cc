#include "ucx_context.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include "ucx_init.h"
#include "ucx_memory.h"
#include "ucx_status.h"

namespace fb::ucx {
namespace {

// Some UCX transports do not raise an event for every completion (a copy engine finishing,
// for one); waking up at least this often bounds the cost of such a missed wakeup.
constexpr int kMaxSleepMs = 100;

}  // namespace

Expected<std::unique_ptr<Context>> UcxContext::open(Bootstrap& bootstrap, const TransportOptions& options) {
  auto state = std::make_shared<WorkerState>();
  FB_TRY_ASSIGN(state->context, init_context(options, bootstrap.size()));
  FB_TRY_ASSIGN(state->worker, create_worker(state->context.get()));
  int fd = -1;
  if (options.progress == ProgressMode::kEvent) {
    FB_TRY_ASSIGN(fd, event_fd(state->worker.get()));
  }
  FB_TRY_ASSIGN(Bytes address, worker_address(state->worker.get()));
  FB_TRY_ASSIGN(std::vector<Bytes> addresses, bootstrap.allgather(address));
  return std::unique_ptr<Context>(
      new UcxContext(bootstrap, options, std::move(state), std::move(addresses), fd));
}

UcxContext::UcxContext(Bootstrap& bootstrap, TransportOptions options, std::shared_ptr<WorkerState> state,
                       std::vector<Bytes> addresses, int event_fd)
    : bootstrap_(bootstrap),
      options_(std::move(options)),
      state_(std::move(state)),
      worker_(state_->worker.get()),
      addresses_(std::move(addresses)),
      endpoints_(addresses_.size()),
      event_fd_(event_fd) {}

Expected<Endpoint*> UcxContext::connect(int peer) {
  FB_TRY_ASSIGN(UcxEndpoint* endpoint, this->endpoint(peer));
  return static_cast<Endpoint*>(endpoint);
}

Expected<UcxEndpoint*> UcxContext::endpoint(int peer) {
  if (peer < 0 || peer >= size())
    return Status::error(StatusCode::kInvalidArgument,
                         "no rank " + std::to_string(peer) + " in a job of " + std::to_string(size()) +
                             " ranks",
                         FB_HERE);
  if (endpoints_[peer]) return endpoints_[peer].get();
  if (closed_)
    return Status::error(StatusCode::kInvalidArgument,
                         "connect to rank " + std::to_string(peer) + " after the ucx context was closed",
                         FB_HERE);
  ucp_ep_params_t params{};
  params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE;
  params.address = reinterpret_cast<const ucp_address_t*>(addresses_[peer].data());
  params.err_mode = UCP_ERR_HANDLING_MODE_NONE;  // as ucx_perftest: no keepalive traffic
  ucp_ep_h ep = nullptr;
  if (ucs_status_t status = ucp_ep_create(worker_, &params, &ep); status != UCS_OK)
    return native_error(status, "ucp_ep_create to rank " + std::to_string(peer), FB_HERE);
  endpoints_[peer] = std::make_unique<UcxEndpoint>(worker_, EpPtr(ep, EpDeleter{worker_}), rank(), peer);
  return endpoints_[peer].get();
}

Expected<std::unique_ptr<MemRegion>> UcxContext::register_memory(MemorySpan memory) {
  return UcxMemRegion::map(state_, memory);
}

Expected<std::unique_ptr<RemoteRegion>> UcxContext::import_region(int peer, ByteSpan packed) {
  FB_TRY_ASSIGN(UcxEndpoint* endpoint, this->endpoint(peer));
  if (!endpoint->handle())
    return Status::error(StatusCode::kInvalidArgument, "import_region after the ucx context was closed",
                         FB_HERE);
  return UcxRemoteRegion::import(state_, endpoint->handle(), peer, packed);
}

Status UcxContext::progress() {
  ucp_worker_progress(worker_);
  return {};
}

Expected<bool> UcxContext::test(Request& request) {
  if (request.handle == nullptr) return true;
  ucp_worker_progress(worker_);
  const ucs_status_t status = ucp_request_check_status(request.handle);
  if (status == UCS_INPROGRESS) return false;
  if (status != UCS_OK) [[unlikely]] return request_failed(request, status);
  ucp_request_free(request.handle);
  request.handle = nullptr;
  return true;
}

Status UcxContext::request_failed(Request& request, ucs_status_t status) {
  const RequestInfo info = *static_cast<const RequestInfo*>(request.handle);
  ucp_request_free(request.handle);
  request.handle = nullptr;
  return op_error(status, info, FB_HERE).with_context("rank " + std::to_string(rank()));
}

Status UcxContext::wait_for_activity(const Deadline& deadline) {
  if (event_fd_ < 0) return Context::wait_for_activity(deadline);
  const ucs_status_t armed = ucp_worker_arm(worker_);
  if (armed == UCS_ERR_BUSY) return {};  // events are pending: progress them first
  if (armed != UCS_OK) return native_error(armed, "ucp_worker_arm", FB_HERE);
  pollfd fd{.fd = event_fd_, .events = POLLIN, .revents = 0};
  if (poll(&fd, 1, std::min(deadline.poll_timeout_ms(), kMaxSleepMs)) < 0 && errno != EINTR)
    return Status::from_errno(errno, "poll on the ucx worker's event fd", FB_HERE);
  return {};
}

}  // namespace fb::ucx
