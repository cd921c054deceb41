// Registers the cuda-ipc transport: ranks are processes on one host, their buffers CUDA device
// memory on one or more of its GPUs; messages and one-sided operations are device-to-device
// copies into memory the peer exported with CUDA IPC.
#include "cuda_handles.h"
#include "cuda_ipc_context.h"
#include "fabricbench/transport/registry.h"

namespace fb::cuda_ipc {
namespace {

// Initialises CUDA in the calling process: launchers must call it in the ranks, after fork.
Status probe() { return cuda::visible_device_count().status(); }

std::vector<std::pair<std::string, std::string>> library_versions() {
  // The runtime is linked statically: its version is fixed at build time and asking for it
  // needs no driver, so listing transports initialises nothing.
  return {{"cuda-runtime", std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10)}};
}

}  // namespace

FB_REGISTER_TRANSPORT((TransportInfo{
    .name = "cuda-ipc",
    .description = "CUDA IPC between processes on one host: device-to-device copies into peers' GPU memory",
    .capabilities = {.send_recv = true,
                     .rma = true,
                     .event_wait = false,
                     .ranks_as_threads = false,
                     .gpu_direct = true,
                     .memory = {MemoryKind::kCudaDevice}},
    .probe = &probe,
    .open = &CudaIpcContext::open,
    .library_versions = &library_versions,
}));

}  // namespace fb::cuda_ipc
