#include "verbs_device.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace fb::verbs {
namespace {

const char* port_state_text(ibv_port_state state) { return ibv_port_state_str(state); }

Expected<DeviceListPtr> device_list(int& count) {
  errno = 0;
  ibv_device** raw = ibv_get_device_list(&count);
  if (raw == nullptr) {
    const int err = errno;
    return Status::error(StatusCode::kUnavailable,
                         std::string("no RDMA device (ibv_get_device_list returned none: ") + std::strerror(err) +
                             "; this kernel has no RDMA verbs support loaded, see scripts/rdma-lab.sh)",
                         FB_HERE);
  }
  DeviceListPtr list(raw);
  if (count == 0)
    return Status::error(StatusCode::kUnavailable, "no RDMA device (ibv_get_device_list returned none)",
                         FB_HERE);
  return list;
}

Expected<DeviceContextPtr> open_device(ibv_device* device) {
  ibv_context* context = ibv_open_device(device);
  if (context == nullptr)
    return verbs_errno(errno, std::string("ibv_open_device ") + ibv_get_device_name(device), FB_HERE);
  return DeviceContextPtr(context);
}

// The populated GIDs of a port; empty slots (ENODATA) are skipped.
std::vector<GidEntry> gid_table(ibv_context* context, int port, int length) {
  std::vector<GidEntry> out;
  for (int index = 0; index < length; ++index) {
    ibv_gid_entry entry{};
    if (ibv_query_gid_ex(context, port, index, &entry, 0) != 0) continue;
    GidEntry e;
    e.index = index;
    std::memcpy(e.gid.data(), entry.gid.raw, 16);
    bool zero = true;
    for (uint8_t b : e.gid) zero = zero && b == 0;
    if (zero) continue;
    e.type = entry.gid_type == IBV_GID_TYPE_ROCE_V2   ? GidType::kRoceV2
             : entry.gid_type == IBV_GID_TYPE_ROCE_V1 ? GidType::kRoceV1
                                                      : GidType::kIb;
    char name[IF_NAMESIZE] = {};
    if (entry.ndev_ifindex != 0 && if_indextoname(entry.ndev_ifindex, name) != nullptr) e.netdev = name;
    out.push_back(std::move(e));
  }
  return out;
}

// The first active port of an open device, or `wanted` when it is set; fills `attr`.
Expected<int> active_port(ibv_context* context, const std::string& name, int ports, int wanted,
                          ibv_port_attr& attr) {
  std::string states;
  for (int port = wanted ? wanted : 1; port <= (wanted ? wanted : ports); ++port) {
    if (int err = ibv_query_port(context, static_cast<uint8_t>(port), &attr); err != 0)
      return verbs_errno(err, "ibv_query_port " + name + " port " + std::to_string(port), FB_HERE);
    if (attr.state == IBV_PORT_ACTIVE) return port;
    if (!states.empty()) states += ", ";
    states += "port " + std::to_string(port) + " " + port_state_text(attr.state);
  }
  return Status::error(StatusCode::kUnavailable, name + " has no active port (" + states + ")", FB_HERE);
}

}  // namespace

Status verbs_errno(int err, std::string_view operation, SourcePlace where) {
  return Status::native("verbs", err, std::strerror(err), operation, where);
}

Expected<Selection> select_device(const Settings& settings, int local_rank) {
  int count = 0;
  FB_TRY_ASSIGN(DeviceListPtr list, device_list(count));
  const std::optional<std::string> wanted = device_for_local_rank(settings, local_rank);
  std::string names, first_error;
  for (int i = 0; i < count; ++i) {
    ibv_device* candidate = list.get()[i];
    const std::string name = ibv_get_device_name(candidate);
    names += (names.empty() ? "" : ", ") + name;
    if (wanted && name != *wanted) continue;
    Selection s;
    s.name = name;
    auto device = std::make_shared<Device>();
    FB_TRY_ASSIGN(device->context, open_device(candidate));
    if (int err = ibv_query_device(device->context.get(), &s.device_attr); err != 0)
      return verbs_errno(err, "ibv_query_device " + name, FB_HERE);
    auto port = active_port(device->context.get(), name, s.device_attr.phys_port_cnt, settings.port, s.port_attr);
    if (!port.ok()) {
      if (wanted) return port.status();
      first_error = first_error.empty() ? port.status().message() : first_error;
      continue;
    }
    s.port = port.value();
    const std::vector<GidEntry> table = gid_table(device->context.get(), s.port, s.port_attr.gid_tbl_len);
    FB_TRY_ASSIGN(s.gid, select_gid(table, GidRequest{.index = settings.gid_index,
                                                      .ip = settings.ip,
                                                      .infiniband = s.port_attr.link_layer == IBV_LINK_LAYER_INFINIBAND,
                                                      .where = name + " port " + std::to_string(s.port)}));
    if (!settings.gid_index && !settings.ip && s.port_attr.link_layer == IBV_LINK_LAYER_ETHERNET)
      s.candidates = route_candidates(table);
    ibv_pd* pd = ibv_alloc_pd(device->context.get());
    if (pd == nullptr) return verbs_errno(errno, "ibv_alloc_pd on " + name, FB_HERE);
    device->pd.reset(pd);
    s.device = std::move(device);
    return s;
  }
  if (wanted)
    return Status::error(StatusCode::kInvalidArgument,
                         "no RDMA device named '" + *wanted + "' (found: " + names + ")", FB_HERE);
  return Status::error(StatusCode::kUnavailable, "no RDMA device with an active port (" + first_error + ")",
                       FB_HERE);
}

std::optional<std::array<uint8_t, 4>> route_source(const std::array<uint8_t, 4>& to) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(4791);  // RoCEv2's UDP port; connect() on UDP only picks the route
  std::memcpy(&peer.sin_addr, to.data(), 4);
  sockaddr_in local{};
  socklen_t length = sizeof(local);
  std::optional<std::array<uint8_t, 4>> out;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&peer), sizeof(peer)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
    out.emplace();
    std::memcpy(out->data(), &local.sin_addr, 4);
  }
  close(fd);
  return out;
}

Status probe_devices() {
  auto selection = select_device(Settings{}, 0);
  if (selection.ok()) return {};
  return Status::error(StatusCode::kUnavailable, selection.status().message(), FB_HERE);
}

}  // namespace fb::verbs
