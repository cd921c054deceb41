#include "ucx_init.h"

#include <mutex>
#include <string_view>

#include "ucx_status.h"

namespace fb::ucx {
namespace {

// The first ucp_init loads UCX's transport modules and global configuration; UCX supports a
// context per thread but does not promise that creating them concurrently is safe.
std::mutex& init_mutex() {
  static std::mutex mutex;
  return mutex;
}

Expected<ConfigPtr> read_config(const TransportOptions& options) {
  ucp_config_t* raw = nullptr;
  if (ucs_status_t status = ucp_config_read(nullptr, nullptr, &raw); status != UCS_OK)
    return native_error(status, "ucp_config_read", FB_HERE);
  ConfigPtr config(raw);
  for (const auto& [key, value] : options.settings) {
    std::string_view name = key;
    if (name.starts_with("UCX_")) name.remove_prefix(4);
    if (ucs_status_t status = ucp_config_modify(raw, std::string(name).c_str(), value.c_str());
        status != UCS_OK)
      return Status::error(StatusCode::kInvalidArgument,
                           "ucx setting " + key + "=" + value + " was rejected: " +
                               ucs_status_string(status) +
                               " (use UCX configuration names as `ucx_info -c` lists them)",
                           FB_HERE);
  }
  return config;
}

}  // namespace

Expected<ContextPtr> init_context(const TransportOptions& options, int ranks) {
  FB_TRY_ASSIGN(ConfigPtr config, read_config(options));
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_REQUEST_SIZE |
                      UCP_PARAM_FIELD_TAG_SENDER_MASK | UCP_PARAM_FIELD_MT_WORKERS_SHARED |
                      UCP_PARAM_FIELD_ESTIMATED_NUM_EPS | UCP_PARAM_FIELD_NAME;
  params.features = UCP_FEATURE_TAG;
  if (options.one_sided) params.features |= UCP_FEATURE_RMA;
  if (options.progress == ProgressMode::kEvent) params.features |= UCP_FEATURE_WAKEUP;
  params.request_size = sizeof(RequestInfo);
  params.tag_sender_mask = 0xffffffffu;  // the sender's rank: see wire_tag()
  params.mt_workers_shared = 0;
  params.estimated_num_eps = static_cast<size_t>(ranks);
  params.name = "fabricbench";
  ucp_context_h context = nullptr;
  std::lock_guard lock(init_mutex());
  if (ucs_status_t status = ucp_init(&params, config.get(), &context); status != UCS_OK)
    return native_error(status, "ucp_init", FB_HERE);
  return ContextPtr(context);
}

Expected<WorkerPtr> create_worker(ucp_context_h context) {
  ucp_worker_params_t params{};
  params.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  params.thread_mode = UCS_THREAD_MODE_SINGLE;
  ucp_worker_h worker = nullptr;
  if (ucs_status_t status = ucp_worker_create(context, &params, &worker); status != UCS_OK)
    return native_error(status, "ucp_worker_create", FB_HERE);
  return WorkerPtr(worker);
}

Expected<Bytes> worker_address(ucp_worker_h worker) {
  ucp_address_t* address = nullptr;
  size_t length = 0;
  if (ucs_status_t status = ucp_worker_get_address(worker, &address, &length); status != UCS_OK)
    return native_error(status, "ucp_worker_get_address", FB_HERE);
  WorkerAddressPtr owned(address, WorkerAddressDeleter{worker});
  const auto* first = reinterpret_cast<const std::byte*>(owned.get());
  return Bytes(first, first + length);
}

Expected<int> event_fd(ucp_worker_h worker) {
  int fd = -1;
  if (ucs_status_t status = ucp_worker_get_efd(worker, &fd); status != UCS_OK)
    return native_error(status, "ucp_worker_get_efd", FB_HERE);
  return fd;
}

}  // namespace fb::ucx
