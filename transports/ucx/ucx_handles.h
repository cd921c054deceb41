// Owners for the UCP handles. Each is released exactly once, by the call UCX pairs with the
// one that created it; handles that need their parent to be released carry it in the deleter.
#pragma once

#include <ucp/api/ucp.h>

#include <chrono>
#include <memory>

namespace fb::ucx {

struct ConfigDeleter {
  void operator()(ucp_config_t* config) const { ucp_config_release(config); }
};
using ConfigPtr = std::unique_ptr<ucp_config_t, ConfigDeleter>;

struct ContextDeleter {
  void operator()(ucp_context_h context) const { ucp_cleanup(context); }
};
using ContextPtr = std::unique_ptr<ucp_context, ContextDeleter>;

struct WorkerDeleter {
  void operator()(ucp_worker_h worker) const { ucp_worker_destroy(worker); }
};
using WorkerPtr = std::unique_ptr<ucp_worker, WorkerDeleter>;

struct WorkerAddressDeleter {
  ucp_worker_h worker = nullptr;
  void operator()(ucp_address_t* address) const { ucp_worker_release_address(worker, address); }
};
using WorkerAddressPtr = std::unique_ptr<ucp_address_t, WorkerAddressDeleter>;

struct MemDeleter {
  ucp_context_h context = nullptr;
  void operator()(ucp_mem_h memh) const { ucp_mem_unmap(context, memh); }
};
using MemPtr = std::unique_ptr<ucp_mem, MemDeleter>;

struct RkeyDeleter {
  void operator()(ucp_rkey_h rkey) const { ucp_rkey_destroy(rkey); }
};
using RkeyPtr = std::unique_ptr<ucp_rkey, RkeyDeleter>;

struct RkeyBufferDeleter {
  void operator()(void* buffer) const { ucp_rkey_buffer_release(buffer); }
};
using RkeyBufferPtr = std::unique_ptr<void, RkeyBufferDeleter>;

// The last resort for an endpoint its context did not close: a flushing close, progressed for
// a bounded time (a destructor must not wait on a peer that may be gone). UCX's FORCE close
// would need UCP_ERR_HANDLING_MODE_PEER on both sides, which costs latency.
struct EpDeleter {
  ucp_worker_h worker = nullptr;
  void operator()(ucp_ep_h ep) const;
};
using EpPtr = std::unique_ptr<ucp_ep, EpDeleter>;

// Progresses `worker` until `request` (from a *_nbx call) completes or `until` passes, then
// releases it. Returns the request's final status (UCS_ERR_TIMED_OUT if it did not finish).
ucs_status_t finish_request(ucp_worker_h worker, ucs_status_ptr_t request,
                            std::chrono::steady_clock::time_point until);

// Everything that must outlive the last region or remote key made from it: rkeys come from
// the worker's memory pool and memory handles belong to the context. Members are destroyed
// in reverse order, so the worker goes before the context.
struct WorkerState {
  ContextPtr context;
  WorkerPtr worker;
};

}  // namespace fb::ucx
