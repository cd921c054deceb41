// Creating the UCP context and worker for a rank, shared by open() and the host probe.
#pragma once

#include "fabricbench/transport/transport.h"
#include "ucx_handles.h"

namespace fb::ucx {

// ucp_init with TAG and RMA (and WAKEUP for ProgressMode::kEvent). UCX reads its UCX_*
// environment as usual; options.settings are applied on top ("TLS" or "UCX_TLS" = "tcp").
Expected<ContextPtr> init_context(const TransportOptions& options, int ranks);

// A single-threaded worker: each rank drives its own.
Expected<WorkerPtr> create_worker(ucp_context_h context);

// The worker's packed address, to publish through the bootstrap.
Expected<Bytes> worker_address(ucp_worker_h worker);

// The file descriptor that becomes readable when the worker has events (needs WAKEUP).
Expected<int> event_fd(ucp_worker_h worker);

}  // namespace fb::ucx
