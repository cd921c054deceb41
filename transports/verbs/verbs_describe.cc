// What a result records about the verbs transport: the device, port and GID a rank uses (the
// knobs users most often get wrong by hand), the QP settings, and how messages are carried.
#include "verbs_context.h"

namespace fb::verbs {

std::map<std::string, std::string> VerbsContext::describe() const {
  const Selection& s = selection_;
  const ibv_port_attr& port = s.port_attr;
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
      {"gid.index", std::to_string(s.gid.index)},
      {"gid", gid_to_string(s.gid.gid)},
      {"gid.type", to_string(s.gid.type)},
      {"gid.netdev", s.gid.netdev.empty() ? "-" : s.gid.netdev},
      {"qp.type", "RC"},
      {"qp.per_peer", "1"},
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
      {"put", "RDMA WRITE"},
      {"get", "RDMA READ"},
      {"flush", "zero-length RDMA READ"},
      {"memory", "host (ibv_reg_mr)"},
  };
  for (const auto& [key, value] : options_.settings) out["setting." + key] = value;
  return out;
}

}  // namespace fb::verbs
