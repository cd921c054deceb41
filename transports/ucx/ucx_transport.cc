// Registers the ucx transport: UCP tag matching for two-sided messages and UCP RMA for
// one-sided ones, over whichever UCX transports UCX selects (tuned with UCX_TLS and friends).
#include "fabricbench/transport/registry.h"
#include "ucx_context.h"
#include "ucx_init.h"

namespace fb::ucx {
namespace {

Status probe() {
  auto context = init_context(TransportOptions{}, 1);
  if (context.ok()) return {};
  return Status::error(StatusCode::kUnavailable,
                       "UCX cannot start on this host: " + context.status().message(), FB_HERE);
}

std::vector<std::pair<std::string, std::string>> library_versions() {
  return {{"ucx", ucp_get_version_string()}};
}

}  // namespace

FB_REGISTER_TRANSPORT((TransportInfo{
    .name = "ucx",
    .description = "UCX UCP: tag send/recv and RMA over the transports UCX selects (set UCX_TLS to choose)",
    .capabilities = {.send_recv = true, .rma = true, .event_wait = true, .memory = {MemoryKind::kHost}},
    .probe = &probe,
    .open = &UcxContext::open,
    .library_versions = &library_versions,
}));

}  // namespace fb::ucx
