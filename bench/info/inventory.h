// What `fabricbench info` shows about a host: CPU and NUMA layout, network interfaces and RDMA
// devices with their GID tables. The readers take the sysfs root ("/sys" on a live host) so
// tests can point them at a made-up tree. A value the kernel does not provide stays unset: it
// is shown as absent, never guessed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fb {

// A list that may be empty for a reason worth telling the user ("/sys/class/infiniband is
// empty"); `absent` is set exactly when `items` is empty.
template <typename T>
struct Listing {
  std::vector<T> items;
  std::string absent;
  bool operator==(const Listing&) const = default;
};

struct NumaNode {
  int id = 0;
  std::string cpus;                     // the kernel's cpulist, "0-15,32-47"
  std::optional<uint64_t> memory_bytes;  // MemTotal of the node
  bool operator==(const NumaNode&) const = default;
};

struct CpuLayout {
  // Counted over online CPUs from their topology; unset when sysfs has no topology files.
  std::optional<int> sockets, cores, threads;
  Listing<NumaNode> numa;
  bool operator==(const CpuLayout&) const = default;
};

struct NetInterface {
  std::string name;
  std::optional<std::string> state;      // operstate: "up", "down", "unknown"
  std::optional<int> mtu;
  std::optional<int64_t> speed_mbps;     // absent when the link is down or the driver has none
  std::optional<std::string> driver;     // from the device/driver link; virtual devices have none
  std::optional<std::string> mac;
  std::optional<std::string> firmware;   // from ETHTOOL_GDRVINFO, filled by the live collector
  std::vector<std::string> addresses;    // "10.0.0.1/24", "fe80::1/64", filled by the live collector
  bool operator==(const NetInterface&) const = default;
};

struct GidEntry {
  int index = 0;
  std::string address;                 // as sysfs writes it, "fe80:0000:...:0001"
  std::optional<std::string> type;     // "RoCE v2", "IB/RoCE v1"
  std::optional<std::string> netdev;
  std::optional<std::string> ipv4;     // for IPv4-mapped GIDs (::ffff:a.b.c.d), the address
  bool operator==(const GidEntry&) const = default;
};

struct RdmaPort {
  int number = 0;
  std::optional<std::string> state;       // "ACTIVE" (sysfs writes "4: ACTIVE")
  std::optional<std::string> phys_state;  // "LinkUp"
  std::optional<std::string> link_layer;  // "Ethernet" (RoCE) or "InfiniBand"
  std::optional<std::string> rate;        // "100 Gb/sec (4X EDR)"
  std::optional<int> lid;                 // InfiniBand only; RoCE ports have 0, left out
  std::vector<GidEntry> gids;             // all-zero (unused) entries left out
  bool operator==(const RdmaPort&) const = default;
};

struct RdmaDevice {
  std::string name;
  std::optional<std::string> firmware;   // fw_ver
  std::optional<std::string> node_guid;
  std::optional<std::string> node_type;  // "1: CA"
  std::optional<std::string> board_id;
  std::vector<std::string> netdevs;      // Ethernet devices the GIDs name, in port order
  std::vector<RdmaPort> ports;
  bool operator==(const RdmaDevice&) const = default;
};

// From SYSFS/devices/system/cpu/cpuN/topology and SYSFS/devices/system/node/nodeN.
CpuLayout collect_cpu_layout(const std::string& sysfs_root);

// From SYSFS/class/net, without addresses and firmware (those need the live kernel).
Listing<NetInterface> collect_net_interfaces(const std::string& sysfs_root);

// collect_net_interfaces of the live "/sys", completed with each interface's firmware and driver
// (ETHTOOL_GDRVINFO) and addresses (getifaddrs): what `fabricbench info` and the results' host
// section show.
Listing<NetInterface> collect_live_net_interfaces();

// From SYSFS/class/infiniband: devices, ports and the used entries of each GID table.
Listing<RdmaDevice> collect_rdma_devices(const std::string& sysfs_root);

// "0000:0000:0000:0000:0000:ffff:0a63:0001" -> "10.99.0.1"; nullopt for other GIDs.
std::optional<std::string> ipv4_from_gid(const std::string& gid);

// Live probes of this host's kernel, best effort: what cannot be read is left out.
std::map<std::string, std::vector<std::string>> interface_addresses();  // getifaddrs
struct EthtoolInfo {
  std::optional<std::string> driver;    // also named for virtual devices (veth, dummy, bridge)
  std::optional<std::string> firmware;  // "" and "N/A" read as unknown
};
EthtoolInfo ethtool_info(const std::string& interface);  // ETHTOOL_GDRVINFO

}  // namespace fb
