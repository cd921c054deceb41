// Finding the device, port and GID a rank uses, and turning verbs errors into Status.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

#include "fabricbench/transport/status.h"
#include "verbs_config.h"
#include "verbs_handles.h"

namespace fb::verbs {

// A failed verbs call that reports through errno.
Status verbs_errno(int err, std::string_view operation, SourcePlace where);

struct Selection {
  std::shared_ptr<Device> device;
  std::string name;  // "rxe0"
  int port = 1;
  ibv_device_attr device_attr{};
  ibv_port_attr port_attr{};
  GidEntry gid;                     // the default (or forced) GID
  std::vector<GidEntry> candidates;  // to choose from per peer by route; empty when forced
};

// Opens the device for `local_rank` (ib_dev, or the first device with an active port), checks
// the port is active and chooses the GID (see select_gid). Errors say what exists instead.
Expected<Selection> select_device(const Settings& settings, int local_rank);

// The source address of the host's route towards `to` (a UDP socket connect()ed there,
// asked for its name: nothing is sent). None when there is no route.
std::optional<std::array<uint8_t, 4>> route_source(const std::array<uint8_t, 4>& to);

// Ok when some RDMA device with an active port and a usable GID exists; else why not.
Status probe_devices();

}  // namespace fb::verbs
