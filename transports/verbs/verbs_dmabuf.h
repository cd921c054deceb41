// GPU memory registered with the RDMA device through dma-buf: the CUDA driver exports the
// device memory as a dma-buf fd (cuMemGetHandleForAddressRange) and ibv_reg_dmabuf_mr gives
// the NIC access to it, so puts and gets move GPU memory without staging (GPUDirect RDMA,
// without the nvidia-peermem module). The driver is loaded at run time (libcuda.so.1): the
// transport builds and runs on hosts without one and says what is missing there.
#pragma once

#include <cstddef>

#include "fabricbench/transport/status.h"
#include "verbs_handles.h"

namespace fb::verbs {

// Whether this build can register GPU memory at all (FABRICBENCH_WITH_CUDA).
bool dmabuf_built();

// Registers [data, data+size) of CUDA device memory with `pd`. kUnsupported, naming what is
// missing, when this build has no CUDA, the host has no CUDA driver, the driver is older than
// 11.7 or the GPU/kernel cannot export dma-bufs; kNative when ibv_reg_dmabuf_mr fails.
Expected<MrPtr> register_dmabuf(ibv_pd* pd, void* data, size_t size, int access, const std::string& device);

}  // namespace fb::verbs
