// What a result records about the verbs transport: the device, port and GID a rank uses (the
// knobs users most often get wrong by hand), the QP settings, and how messages are carried.
#include "verbs_context.h"
#include "verbs_dmabuf.h"

namespace fb::verbs {

std::map<std::string, std::string> VerbsContext::describe() const {
  const Selection& s = selection_;
  const ibv_port_attr& port = s.port_attr;
  // The GID towards the next rank (the one a pair benchmark talks to), else the default.
  const GidEntry& gid = peer_gids_.empty() ? s.gid : peer_gids_[(rank() + 1) % peer_gids_.size()].local;
  std::map<std::string, std::string> out{
      {"progress", to_string(options_.progress)},
      {"device", s.name},
      {"device.fw_ver", s.device_attr.fw_ver},
      {"device.vendor_id", std::to_string(s.device_attr.vendor_id)},
      {"device.vendor_part_id", std::to_string(s.device_attr.vendor_part_id)},
      {"port", std::to_string(s.port)},
      {"port.link_layer", port.link_layer == IBV_LINK_LAYER_ETHERNET ? "Ethernet" : "InfiniBand"},
      {"port.active_mtu", std::to_string(mtu_bytes(port.active_mtu))},
      {"port.lid", std::to_string(port.lid)},
      {"gid.index", std::to_string(gid.index)},
      {"gid", gid_to_string(gid.gid)},
      {"gid.type", to_string(gid.type)},
      {"gid.netdev", gid.netdev.empty() ? "-" : gid.netdev},
      {"gid.choice", gid_choice_},
      {"gid.peers", gid_summary()},
      {"qp.type", "RC"},
      {"qp.per_peer", std::to_string(settings_.qps)},
      {"qp.connect", settings_.rdma_cm ? "rdma_cm" : "bootstrap"},
      {"qp.cq_mod", std::to_string(settings_.cq_mod)},
      {"qp.path_mtu", std::to_string(mtu_bytes(path_mtu_))},
      {"qp.sq_depth", std::to_string(settings_.sq_depth)},
      {"qp.recv_depth", std::to_string(settings_.recv_depth)},
      {"qp.max_inline", std::to_string(settings_.max_inline)},
      {"qp.timeout", std::to_string(settings_.ack_timeout)},
      {"qp.retry_cnt", std::to_string(settings_.retry_count)},
      {"qp.rnr_retry", "7"},
      {"qp.traffic_class", std::to_string(settings_.traffic_class)},
      {"qp.sl", std::to_string(settings_.service_level)},
      {"sendrecv.protocol", "eager copy through registered bounce buffers"},
      {"sendrecv.chunk", std::to_string(settings_.chunk)},
      {"sendrecv.qp", "lane 0"},
      {"put", "RDMA WRITE"},
      {"get", "RDMA READ"},
      {"put_imm", "RDMA WRITE with immediate on lane 0, taking a bounce receive at the target"},
      {"rma.qp", settings_.qps == 1 ? "lane 0" : "round-robin over " + std::to_string(settings_.qps) + " lanes"},
      {"flush", settings_.qps == 1 ? "zero-length RDMA READ" : "zero-length RDMA READ on every lane"},
      // The dma-buf path has not yet run on a host with both a GPU and an RDMA device: say so
      // wherever its numbers appear.
      {"memory", dmabuf_built() ? "host, cuda-pinned (ibv_reg_mr); cuda (dma-buf, ibv_reg_dmabuf_mr; not yet "
                                  "validated on GPU + RDMA hardware)"
                                : "host, cuda-pinned (ibv_reg_mr)"},
  };
  out["async_events"] = events_ ? events_->seen() : "not watched";
  for (const auto& [key, value] : options_.settings) out["setting." + key] = value;
  return out;
}

}  // namespace fb::verbs
