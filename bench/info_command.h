#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli.h"
#include "info/inventory.h"
#include "results/record.h"

namespace fb {

// Everything `fabricbench info` shows. Each `*_absent` (and each Listing's `absent`) says why
// a part is empty on this host.
struct HostInventory {
  HostInfo host;  // hostname, kernel, CPU model, memory, GPUs and library versions
  CpuLayout cpu;
  Listing<NetInterface> interfaces;
  Listing<RdmaDevice> rdma;
  std::string gpus_absent;
};

// This host: sysfs under "/sys", plus getifaddrs, ethtool and collect_host_info().
HostInventory collect_host_inventory();

// One JSON object; a value that is not known is null, an empty part carries its reason under
// "absent".
nlohmann::json to_json(const HostInventory& inventory);

// `fabricbench info`: what this host has, for a person at a new rack.
int run_info(const InfoCommand& command);

}  // namespace fb
