#include "ucx_handles.h"

namespace fb::ucx {

namespace {
constexpr std::chrono::milliseconds kCloseBudget{100};
}  // namespace

ucs_status_t finish_request(ucp_worker_h worker, ucs_status_ptr_t request,
                            std::chrono::steady_clock::time_point until) {
  if (request == nullptr) return UCS_OK;
  if (UCS_PTR_IS_ERR(request)) return UCS_PTR_STATUS(request);
  ucs_status_t status = ucp_request_check_status(request);
  while (status == UCS_INPROGRESS && std::chrono::steady_clock::now() < until) {
    ucp_worker_progress(worker);
    status = ucp_request_check_status(request);
  }
  // Freeing an unfinished request is allowed: UCX releases it when it completes.
  ucp_request_free(request);
  return status == UCS_INPROGRESS ? UCS_ERR_TIMED_OUT : status;
}

void EpDeleter::operator()(ucp_ep_h ep) const {
  ucp_request_param_t param{};
  (void)finish_request(worker, ucp_ep_close_nbx(ep, &param), std::chrono::steady_clock::now() + kCloseBudget);
}

}  // namespace fb::ucx
