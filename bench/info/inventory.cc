#include "info/inventory.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace fb {
namespace {

namespace fs = std::filesystem;

// The first line of a sysfs attribute, trimmed; nullopt when the file is missing, cannot be
// read (many attributes answer EINVAL when they do not apply, e.g. speed of a downed link) or
// is empty.
std::optional<std::string> read_attr(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  const auto first = line.find_first_not_of(" \t");
  if (first == std::string::npos) return std::nullopt;
  const auto last = line.find_last_not_of(" \t\r\n");
  return line.substr(first, last - first + 1);
}

template <typename Int>
std::optional<Int> parse_int(std::string_view text, int base = 10) {
  if (base == 16 && (text.starts_with("0x") || text.starts_with("0X"))) text.remove_prefix(2);
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

template <typename Int>
std::optional<Int> read_int(const fs::path& path, int base = 10) {
  const auto text = read_attr(path);
  return text ? parse_int<Int>(*text, base) : std::nullopt;
}

// Entries of DIR named PREFIX<number> (or just <number> for an empty prefix), by number.
std::vector<std::pair<int, fs::path>> numbered_entries(const fs::path& dir, std::string_view prefix) {
  std::vector<std::pair<int, fs::path>> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    if (auto n = parse_int<int>(std::string_view(name).substr(prefix.size()))) out.emplace_back(*n, it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> entry_names(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    out.push_back(it->path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Why a directory the listing comes from gave nothing.
std::string empty_reason(const fs::path& dir) {
  std::error_code ec;
  return dir.string() + (fs::exists(dir, ec) ? " is empty" : " does not exist");
}

// "4: ACTIVE" -> "ACTIVE": sysfs prefixes port states with their numeric code.
std::string without_code(const std::string& text) {
  const auto colon = text.find(": ");
  return colon == std::string::npos ? text : text.substr(colon + 2);
}

std::optional<std::string> link_target_name(const fs::path& link) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(link, ec);
  if (ec || target.filename().empty()) return std::nullopt;
  return target.filename().string();
}

std::optional<uint64_t> node_memory(const fs::path& node_dir) {
  std::ifstream in(node_dir / "meminfo");
  std::string line;
  while (std::getline(in, line)) {
    // "Node 0 MemTotal:       16318460 kB"
    const auto key = line.find("MemTotal:");
    if (key == std::string::npos) continue;
    std::istringstream rest(line.substr(key + 9));
    uint64_t kib = 0;
    std::string unit;
    if (rest >> kib >> unit && unit == "kB") return kib * 1024;
    return std::nullopt;
  }
  return std::nullopt;
}

bool all_zero(const std::string& gid) {
  return std::all_of(gid.begin(), gid.end(), [](char c) { return c == '0' || c == ':'; });
}

RdmaPort read_port(int number, const fs::path& dir) {
  RdmaPort port;
  port.number = number;
  if (auto s = read_attr(dir / "state")) port.state = without_code(*s);
  if (auto s = read_attr(dir / "phys_state")) port.phys_state = without_code(*s);
  port.link_layer = read_attr(dir / "link_layer");
  port.rate = read_attr(dir / "rate");
  if (auto lid = read_int<int>(dir / "lid", 16); lid && *lid != 0) port.lid = lid;
  for (const auto& [index, path] : numbered_entries(dir / "gids", "")) {
    auto address = read_attr(path);
    if (!address || all_zero(*address)) continue;
    GidEntry gid;
    gid.index = index;
    gid.address = *address;
    const std::string i = std::to_string(index);
    gid.type = read_attr(dir / "gid_attrs" / "types" / i);
    gid.netdev = read_attr(dir / "gid_attrs" / "ndevs" / i);
    gid.ipv4 = ipv4_from_gid(gid.address);
    port.gids.push_back(std::move(gid));
  }
  return port;
}

}  // namespace

std::optional<std::string> ipv4_from_gid(const std::string& gid) {
  in6_addr addr{};
  if (::inet_pton(AF_INET6, gid.c_str(), &addr) != 1 || !IN6_IS_ADDR_V4MAPPED(&addr)) return std::nullopt;
  char text[INET_ADDRSTRLEN] = {};
  if (!::inet_ntop(AF_INET, &addr.s6_addr[12], text, sizeof text)) return std::nullopt;
  return std::string(text);
}

CpuLayout collect_cpu_layout(const std::string& sysfs_root) {
  CpuLayout layout;
  const fs::path system = fs::path(sysfs_root) / "devices" / "system";
  std::set<int> sockets;
  std::set<std::pair<int, int>> cores;
  int threads = 0;
  for (const auto& [cpu, dir] : numbered_entries(system / "cpu", "cpu")) {
    // cpu0 usually has no "online" file: it cannot be taken offline.
    if (read_attr(dir / "online").value_or("1") == "0") continue;
    const auto package = read_int<int>(dir / "topology" / "physical_package_id");
    const auto core = read_int<int>(dir / "topology" / "core_id");
    if (!package || !core) continue;
    sockets.insert(*package);
    cores.emplace(*package, *core);
    ++threads;
  }
  if (threads > 0) {
    layout.sockets = static_cast<int>(sockets.size());
    layout.cores = static_cast<int>(cores.size());
    layout.threads = threads;
  }
  const fs::path nodes = system / "node";
  for (const auto& [id, dir] : numbered_entries(nodes, "node")) {
    NumaNode node;
    node.id = id;
    node.cpus = read_attr(dir / "cpulist").value_or("");
    node.memory_bytes = node_memory(dir);
    layout.numa.items.push_back(std::move(node));
  }
  if (layout.numa.items.empty())
    layout.numa.absent = "no NUMA nodes listed: " + empty_reason(nodes) + " (kernel without NUMA support)";
  return layout;
}

Listing<NetInterface> collect_net_interfaces(const std::string& sysfs_root) {
  Listing<NetInterface> out;
  const fs::path net = fs::path(sysfs_root) / "class" / "net";
  for (const std::string& name : entry_names(net)) {
    const fs::path dir = net / name;
    NetInterface nic;
    nic.name = name;
    nic.state = read_attr(dir / "operstate");
    nic.mtu = read_int<int>(dir / "mtu");
    // Drivers without a speed, and links that are down, answer -1 or an error.
    if (auto speed = read_int<int64_t>(dir / "speed"); speed && *speed > 0) nic.speed_mbps = speed;
    nic.driver = link_target_name(dir / "device" / "driver");
    nic.mac = read_attr(dir / "address");
    out.items.push_back(std::move(nic));
  }
  if (out.items.empty()) out.absent = "no network interfaces: " + empty_reason(net);
  return out;
}

Listing<NetInterface> collect_live_net_interfaces() {
  Listing<NetInterface> interfaces = collect_net_interfaces("/sys");
  const auto addresses = interface_addresses();
  for (NetInterface& nic : interfaces.items) {
    const EthtoolInfo ethtool = ethtool_info(nic.name);
    nic.firmware = ethtool.firmware;
    if (!nic.driver) nic.driver = ethtool.driver;
    if (auto it = addresses.find(nic.name); it != addresses.end()) nic.addresses = it->second;
  }
  return interfaces;
}

Listing<RdmaDevice> collect_rdma_devices(const std::string& sysfs_root) {
  Listing<RdmaDevice> out;
  const fs::path ib = fs::path(sysfs_root) / "class" / "infiniband";
  for (const std::string& name : entry_names(ib)) {
    const fs::path dir = ib / name;
    RdmaDevice dev;
    dev.name = name;
    dev.firmware = read_attr(dir / "fw_ver");
    dev.node_guid = read_attr(dir / "node_guid");
    dev.node_type = read_attr(dir / "node_type");
    dev.board_id = read_attr(dir / "board_id");
    for (const auto& [number, port_dir] : numbered_entries(dir / "ports", "")) {
      dev.ports.push_back(read_port(number, port_dir));
      for (const GidEntry& gid : dev.ports.back().gids)
        if (gid.netdev && std::find(dev.netdevs.begin(), dev.netdevs.end(), *gid.netdev) == dev.netdevs.end())
          dev.netdevs.push_back(*gid.netdev);
    }
    // A NIC whose ports have no usable GID yet still names its netdev under device/net.
    for (const std::string& netdev : entry_names(dir / "device" / "net"))
      if (std::find(dev.netdevs.begin(), dev.netdevs.end(), netdev) == dev.netdevs.end()) dev.netdevs.push_back(netdev);
    out.items.push_back(std::move(dev));
  }
  if (out.items.empty()) {
    std::error_code ec;
    out.absent = "no RDMA devices: " + empty_reason(ib) + (fs::exists(ib, ec) ? "" : " (no RDMA driver loaded)");
  }
  return out;
}

std::map<std::string, std::vector<std::string>> interface_addresses() {
  std::map<std::string, std::vector<std::string>> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || !a->ifa_name) continue;
    const int family = a->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = family == AF_INET
                          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr)
                          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(a->ifa_addr)->sin6_addr);
    if (!::inet_ntop(family, raw, text, sizeof text)) continue;
    int prefix = 0;
    if (a->ifa_netmask) {
      const auto* mask = family == AF_INET
                             ? reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(a->ifa_netmask)->sin_addr)
                             : reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(a->ifa_netmask)->sin6_addr);
      const int bytes = family == AF_INET ? 4 : 16;
      for (int i = 0; i < bytes; ++i) prefix += __builtin_popcount(mask[i]);
    }
    out[a->ifa_name].push_back(std::string(text) + "/" + std::to_string(prefix));
  }
  ::freeifaddrs(list);
  return out;
}

EthtoolInfo ethtool_info(const std::string& interface) {
  EthtoolInfo out;
  if (interface.size() >= IFNAMSIZ) return out;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return out;
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  ifreq request{};
  std::memcpy(request.ifr_name, interface.c_str(), interface.size());
  request.ifr_data = reinterpret_cast<char*>(&info);
  const int rc = ::ioctl(fd, SIOCETHTOOL, &request);
  ::close(fd);
  if (rc != 0) return out;
  auto known = [](const char* text, size_t size) -> std::optional<std::string> {
    std::string value(text, strnlen(text, size));
    if (value.empty() || value == "N/A") return std::nullopt;
    return value;
  };
  out.driver = known(info.driver, sizeof info.driver);
  out.firmware = known(info.fw_version, sizeof info.fw_version);
  return out;
}

}  // namespace fb
