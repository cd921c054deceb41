// Finding the device, port and GID a rank uses, and turning verbs errors into Status.
#pragma once

#include <memory>
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
  GidEntry gid;
};

// Opens the device for `local_rank` (ib_dev, or the first device with an active port), checks
// the port is active and chooses the GID (see select_gid). Errors say what exists instead.
Expected<Selection> select_device(const Settings& settings, int local_rank);

// Ok when some RDMA device with an active port and a usable GID exists; else why not.
Status probe_devices();

}  // namespace fb::verbs
