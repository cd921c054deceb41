#include "counters/counter_scope.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>

#include "info/inventory.h"

namespace fb {
namespace {

namespace fs = std::filesystem;

constexpr unsigned kIffUp = 0x1;  // IFF_UP in /sys/class/net/IF/flags

std::string first_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Administratively up, and not known to have no carrier ("unknown" is what lo, dummy and many
// virtual devices report while carrying traffic).
bool is_up(const fs::path& netdev_dir) {
  const std::string flags = first_line(netdev_dir / "flags");
  unsigned value = 0;
  const char* begin = flags.data() + (flags.starts_with("0x") ? 2 : 0);
  const auto [end, ec] = std::from_chars(begin, flags.data() + flags.size(), value, 16);
  if (ec != std::errc() || !(value & kIffUp)) return false;
  const std::string state = first_line(netdev_dir / "operstate");
  return state != "down" && state != "lowerlayerdown" && state != "notpresent";
}

std::optional<int> parse_port(const std::string& text) {
  int port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 1) return std::nullopt;
  return port;
}

void add_device(CounterScope& scope, const RdmaDevice& dev, std::optional<int> only_port) {
  for (const RdmaPort& port : dev.ports)
    if (!only_port || port.number == *only_port) scope.rdma_ports.push_back({dev.name, port.number});
}

void add_netdev(CounterScope& scope, const std::string& name) {
  if (std::find(scope.netdevs.begin(), scope.netdevs.end(), name) == scope.netdevs.end())
    scope.netdevs.push_back(name);
}

}  // namespace

CounterScope counter_scope(const std::string& sysfs_root, const std::map<std::string, std::string>& transport_details,
                           bool all_ranks_on_this_host) {
  CounterScope scope;
  scope.sysfs_root = sysfs_root;
  scope.ethtool = read_ethtool_flow_control;
  const Listing<RdmaDevice> rdma = collect_rdma_devices(sysfs_root);

  if (auto named = transport_details.find("device"); named != transport_details.end()) {
    const auto dev = std::find_if(rdma.items.begin(), rdma.items.end(),
                                  [&](const RdmaDevice& d) { return d.name == named->second; });
    if (dev != rdma.items.end()) {
      const auto port = transport_details.find("port");
      add_device(scope, *dev, port == transport_details.end() ? std::nullopt : parse_port(port->second));
      const auto gid_netdev = transport_details.find("gid.netdev");
      if (gid_netdev != transport_details.end() && gid_netdev->second != "-") {
        add_netdev(scope, gid_netdev->second);
      } else {
        for (const std::string& netdev : dev->netdevs) add_netdev(scope, netdev);
      }
      scope.chosen_by = "the transport's device " + dev->name;
      return scope;
    }
  }

  for (const RdmaDevice& dev : rdma.items) add_device(scope, dev, std::nullopt);
  const Listing<NetInterface> interfaces = collect_net_interfaces(sysfs_root);
  const fs::path net = fs::path(sysfs_root) / "class" / "net";
  bool loopback_up = false;
  std::vector<std::string> physical, virtual_only;
  for (const NetInterface& nic : interfaces.items) {
    if (!is_up(net / nic.name)) continue;
    if (nic.name == "lo") {
      loopback_up = true;
      continue;
    }
    // A NIC has a device behind it; veths, bridges, bonds and tunnels do not. A container
    // host has hundreds of up veths whose traffic is also on its NICs: they would swell
    // every record, so they are read only where no NIC is up (inside a container).
    std::error_code ec;
    (fs::exists(net / nic.name / "device", ec) ? physical : virtual_only).push_back(nic.name);
  }
  for (const std::string& name : physical.empty() ? virtual_only : physical) add_netdev(scope, name);
  if (loopback_up && (all_ranks_on_this_host || scope.netdevs.empty())) add_netdev(scope, "lo");
  scope.chosen_by = "every RDMA port and every netdev that is up";
  return scope;
}

}  // namespace fb
