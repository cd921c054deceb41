#include "info_command.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "results/host_info.h"

namespace fb {
namespace {

using nlohmann::json;

template <typename T>
json or_null(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

template <typename T>
std::string or_dash(const std::optional<T>& value) {
  if (!value) return "-";
  if constexpr (std::is_same_v<T, std::string>) {
    return *value;
  } else {
    return std::to_string(*value);
  }
}

std::string gib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  return text;
}

bool on_path(std::string_view program) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::istringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && ::access((dir + "/" + std::string(program)).c_str(), X_OK) == 0) return true;
  return false;
}

json gid_json(const GidEntry& gid) {
  return {{"index", gid.index},          {"type", or_null(gid.type)}, {"address", gid.address},
          {"netdev", or_null(gid.netdev)}, {"ipv4", or_null(gid.ipv4)}};
}

json rdma_json(const RdmaDevice& dev) {
  json ports = json::array();
  for (const RdmaPort& port : dev.ports) {
    json gids = json::array();
    for (const GidEntry& gid : port.gids) gids.push_back(gid_json(gid));
    ports.push_back({{"port", port.number},
                     {"state", or_null(port.state)},
                     {"phys_state", or_null(port.phys_state)},
                     {"link_layer", or_null(port.link_layer)},
                     {"rate", or_null(port.rate)},
                     {"lid", or_null(port.lid)},
                     {"gids", std::move(gids)}});
  }
  return {{"name", dev.name},           {"firmware", or_null(dev.firmware)}, {"node_guid", or_null(dev.node_guid)},
          {"node_type", or_null(dev.node_type)}, {"board_id", or_null(dev.board_id)}, {"netdevs", dev.netdevs},
          {"ports", std::move(ports)}};
}

void print_rdma(const RdmaDevice& dev) {
  std::printf("  %s  fw %s  node_guid %s  netdev %s\n", dev.name.c_str(), or_dash(dev.firmware).c_str(),
              or_dash(dev.node_guid).c_str(), dev.netdevs.empty() ? "-" : [&] {
                std::string all;
                for (const auto& n : dev.netdevs) all += (all.empty() ? "" : ",") + n;
                return all;
              }().c_str());
  if (dev.ports.empty()) std::printf("    no ports listed\n");
  for (const RdmaPort& port : dev.ports) {
    std::printf("    port %d: %s (%s), %s, %s", port.number, or_dash(port.state).c_str(),
                or_dash(port.phys_state).c_str(), or_dash(port.link_layer).c_str(), or_dash(port.rate).c_str());
    if (port.lid) std::printf(", lid %d", *port.lid);
    std::printf("\n");
    if (port.gids.empty()) {
      std::printf("      no GIDs in use\n");
      continue;
    }
    std::printf("      %-4s %-11s %-40s %-12s %s\n", "gid", "type", "address", "netdev", "ipv4");
    for (const GidEntry& gid : port.gids)
      std::printf("      %-4d %-11s %-40s %-12s %s\n", gid.index, or_dash(gid.type).c_str(), gid.address.c_str(),
                  or_dash(gid.netdev).c_str(), or_dash(gid.ipv4).c_str());
  }
}

void print_console(const HostInventory& inv) {
  const HostInfo& h = inv.host;
  std::printf("host       %s\n", h.hostname.empty() ? "- (gethostname failed)" : h.hostname.c_str());
  std::printf("kernel     %s\n", h.kernel.empty() ? "-" : h.kernel.c_str());
  std::printf("cpu        %s\n", h.cpu_model.empty() ? "- (no model name in /proc/cpuinfo)" : h.cpu_model.c_str());
  if (inv.cpu.threads) {
    std::printf("           %d socket(s), %d core(s), %d thread(s)\n", *inv.cpu.sockets, *inv.cpu.cores,
                *inv.cpu.threads);
  } else {
    std::printf("           topology unknown: no CPU topology in /sys/devices/system/cpu (%d online)\n", h.cores);
  }
  if (inv.cpu.numa.items.empty()) std::printf("numa       %s\n", inv.cpu.numa.absent.c_str());
  for (const NumaNode& node : inv.cpu.numa.items)
    std::printf("numa       node%d: cpus %s, memory %s\n", node.id, node.cpus.empty() ? "none" : node.cpus.c_str(),
                node.memory_bytes ? gib(*node.memory_bytes).c_str() : "-");
  std::printf("memory     %s\n", h.memory_bytes ? gib(h.memory_bytes).c_str() : "-");

  std::printf("\nnetwork interfaces\n");
  if (inv.interfaces.items.empty()) std::printf("  %s\n", inv.interfaces.absent.c_str());
  else
    std::printf("  %-16s %-8s %-6s %-11s %-12s %-18s %s\n", "name", "state", "mtu", "speed", "driver", "firmware",
                "addresses");
  for (const NetInterface& nic : inv.interfaces.items) {
    std::string addresses;
    for (const auto& a : nic.addresses) addresses += (addresses.empty() ? "" : " ") + a;
    std::printf("  %-16s %-8s %-6s %-11s %-12s %-18s %s\n", nic.name.c_str(), or_dash(nic.state).c_str(),
                or_dash(nic.mtu).c_str(), nic.speed_mbps ? (std::to_string(*nic.speed_mbps) + " Mb/s").c_str() : "-",
                or_dash(nic.driver).c_str(), or_dash(nic.firmware).c_str(), addresses.empty() ? "-" : addresses.c_str());
  }

  std::printf("\nrdma devices\n");
  if (inv.rdma.items.empty()) std::printf("  %s\n", inv.rdma.absent.c_str());
  for (const RdmaDevice& dev : inv.rdma.items) print_rdma(dev);

  std::printf("\ngpus\n");
  if (h.gpus.empty()) std::printf("  %s\n", inv.gpus_absent.c_str());
  for (const GpuInfo& gpu : h.gpus)
    std::printf("  %d  %s  %s  %s  driver %s\n", gpu.index, gpu.name.c_str(), gpu.pci_bus_id.c_str(),
                gpu.memory_bytes ? gib(gpu.memory_bytes).c_str() : "-",
                gpu.driver_version.empty() ? "-" : gpu.driver_version.c_str());

  std::printf("\nlibraries\n");
  if (h.libraries.empty()) std::printf("  none found (no transport library reports one, none installed)\n");
  for (const LibraryVersion& lib : h.libraries) std::printf("  %-12s %s\n", lib.name.c_str(), lib.version.c_str());
}

}  // namespace

HostInventory collect_host_inventory() {
  HostInventory inv;
  // The results' host section carries the same inventory: one collection serves both.
  inv.host = collect_host_info();
  inv.cpu = inv.host.cpu_layout;
  inv.interfaces = inv.host.network_interfaces;
  inv.rdma = inv.host.rdma_devices;
  if (inv.host.gpus.empty())
    inv.gpus_absent = on_path("nvidia-smi") ? "no GPUs: nvidia-smi lists none (or did not answer)"
                                            : "no GPUs: nvidia-smi is not installed";
  return inv;
}

json to_json(const HostInventory& inv) {
  const HostInfo& h = inv.host;
  json numa = json::array();
  for (const NumaNode& node : inv.cpu.numa.items)
    numa.push_back({{"node", node.id}, {"cpus", node.cpus}, {"memory_bytes", or_null(node.memory_bytes)}});
  json interfaces = json::array();
  for (const NetInterface& nic : inv.interfaces.items)
    interfaces.push_back({{"name", nic.name},
                          {"state", or_null(nic.state)},
                          {"mtu", or_null(nic.mtu)},
                          {"speed_mbps", or_null(nic.speed_mbps)},
                          {"driver", or_null(nic.driver)},
                          {"firmware", or_null(nic.firmware)},
                          {"mac", or_null(nic.mac)},
                          {"addresses", nic.addresses}});
  json rdma = json::array();
  for (const RdmaDevice& dev : inv.rdma.items) rdma.push_back(rdma_json(dev));
  json gpus = json::array();
  for (const GpuInfo& gpu : h.gpus)
    gpus.push_back({{"index", gpu.index},
                    {"name", gpu.name},
                    {"pci_bus_id", gpu.pci_bus_id},
                    {"memory_bytes", gpu.memory_bytes},
                    {"driver_version", gpu.driver_version},
                    {"uuid", gpu.uuid}});
  json libraries = json::object();
  for (const LibraryVersion& lib : h.libraries) libraries[lib.name] = lib.version;
  json absent = json::object();
  if (!inv.cpu.numa.absent.empty()) absent["numa_nodes"] = inv.cpu.numa.absent;
  if (!inv.interfaces.absent.empty()) absent["network_interfaces"] = inv.interfaces.absent;
  if (!inv.rdma.absent.empty()) absent["rdma_devices"] = inv.rdma.absent;
  if (h.gpus.empty()) absent["gpus"] = inv.gpus_absent;
  json out = {{"hostname", h.hostname},
              {"kernel", h.kernel},
              {"cpu",
               {{"model", h.cpu_model},
                {"online", h.cores},
                {"sockets", or_null(inv.cpu.sockets)},
                {"cores", or_null(inv.cpu.cores)},
                {"threads", or_null(inv.cpu.threads)},
                {"numa_nodes", std::move(numa)}}},
              {"memory_bytes", h.memory_bytes},
              {"network_interfaces", std::move(interfaces)},
              {"rdma_devices", std::move(rdma)},
              {"gpus", std::move(gpus)},
              {"libraries", std::move(libraries)},
              {"absent", std::move(absent)}};
  if (!h.gpu_topology.empty()) out["gpu_topology"] = h.gpu_topology;
  return out;
}

int run_info(const InfoCommand& command) {
  const HostInventory inventory = collect_host_inventory();
  if (command.json) {
    // Hostnames and driver strings are not guaranteed UTF-8; a replaced byte beats no output.
    std::printf("%s\n", to_json(inventory).dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
  }
  print_console(inventory);
  return 0;
}

}  // namespace fb
