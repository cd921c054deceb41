// Owners for the ibv_* objects. Each is released exactly once by the call libibverbs pairs
// with the one that created it. Destruction order matters (QPs before their CQ, MRs before
// their PD, everything before the device context); owners that others depend on are shared.
#pragma once

#include <infiniband/verbs.h>

#include <memory>

namespace fb::verbs {

struct DeviceListDeleter {
  void operator()(ibv_device** list) const { ibv_free_device_list(list); }
};
using DeviceListPtr = std::unique_ptr<ibv_device*, DeviceListDeleter>;

struct DeviceContextDeleter {
  void operator()(ibv_context* context) const { ibv_close_device(context); }
};
using DeviceContextPtr = std::unique_ptr<ibv_context, DeviceContextDeleter>;

struct PdDeleter {
  void operator()(ibv_pd* pd) const { ibv_dealloc_pd(pd); }
};
using PdPtr = std::unique_ptr<ibv_pd, PdDeleter>;

struct CompChannelDeleter {
  void operator()(ibv_comp_channel* channel) const { ibv_destroy_comp_channel(channel); }
};
using CompChannelPtr = std::unique_ptr<ibv_comp_channel, CompChannelDeleter>;

struct CqDeleter {
  void operator()(ibv_cq* cq) const { ibv_destroy_cq(cq); }
};
using CqPtr = std::unique_ptr<ibv_cq, CqDeleter>;

struct QpDeleter {
  void operator()(ibv_qp* qp) const { ibv_destroy_qp(qp); }
};
using QpPtr = std::unique_ptr<ibv_qp, QpDeleter>;

struct MrDeleter {
  void operator()(ibv_mr* mr) const { ibv_dereg_mr(mr); }
};
using MrPtr = std::unique_ptr<ibv_mr, MrDeleter>;

// An open device and its protection domain. Memory regions keep it alive, so a region that
// outlives its Context is still deregistered before the PD and the device go.
struct Device {
  DeviceContextPtr context;  // declared first: closed last
  PdPtr pd;
};

}  // namespace fb::verbs
