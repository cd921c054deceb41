// Registers the verbs transport: RC queue pairs on an RDMA device (RoCE or InfiniBand), with
// SEND/RECV for tagged messages and RDMA WRITE/READ for one-sided ones.
#include "fabricbench/transport/registry.h"
#include "verbs_context.h"
#include "verbs_device.h"

#ifndef FB_IBVERBS_VERSION
#define FB_IBVERBS_VERSION "unknown"
#endif

namespace fb::verbs {
namespace {

std::vector<std::pair<std::string, std::string>> library_versions() {
  return {{"libibverbs", FB_IBVERBS_VERSION}};
}

}  // namespace

FB_REGISTER_TRANSPORT((TransportInfo{
    .name = "verbs",
    .description = "RDMA verbs RC QPs (RoCE, InfiniBand): SEND/RECV through bounce buffers, RDMA WRITE/READ "
                   "(--transport-opt ib_dev=, ib_port=, gid_index=, ip=, mtu=, ...)",
    .capabilities = {.send_recv = true,
                     .rma = true,
                     .event_wait = true,
                     // GPU memory through dma-buf when built with CUDA; without a GPU and its
                     // driver, registering it is kUnsupported naming what is missing.
                     .gpu_direct = FB_VERBS_WITH_CUDA != 0,
                     .put_imm = true,
#if FB_VERBS_WITH_CUDA
                     .memory = {MemoryKind::kHost, MemoryKind::kCudaPinned, MemoryKind::kCudaDevice}},
#else
                     .memory = {MemoryKind::kHost, MemoryKind::kCudaPinned}},
#endif
    .probe = &probe_devices,
    .open = &VerbsContext::open,
    .library_versions = &library_versions,
}));

}  // namespace fb::verbs
