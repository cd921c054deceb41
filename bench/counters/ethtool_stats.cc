// The driver statistics `ethtool -S` prints, through the same ioctls.
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "bootstrap/unique_fd.h"
#include "counters/counter_snapshot.h"

namespace fb {
namespace {

bool ethtool_ioctl(int fd, const std::string& netdev, void* command) {
  ifreq request{};
  std::memcpy(request.ifr_name, netdev.c_str(), netdev.size());
  request.ifr_data = static_cast<char*>(command);
  return ::ioctl(fd, SIOCETHTOOL, &request) == 0;
}

// How many ETH_SS_STATS strings the driver has; 0 when it has none or does not say.
uint32_t stats_count(int fd, const std::string& netdev) {
  // The kernel writes one u32 after the header per bit set in sset_mask.
  alignas(ethtool_sset_info) std::byte buffer[sizeof(ethtool_sset_info) + sizeof(uint32_t)] = {};
  auto* sset = reinterpret_cast<ethtool_sset_info*>(buffer);
  sset->cmd = ETHTOOL_GSSET_INFO;
  sset->sset_mask = uint64_t{1} << ETH_SS_STATS;
  if (!ethtool_ioctl(fd, netdev, sset) || !(sset->sset_mask & (uint64_t{1} << ETH_SS_STATS))) return 0;
  return sset->data[0];
}

}  // namespace

std::optional<std::map<std::string, uint64_t>> read_ethtool_flow_control(const std::string& netdev) {
  if (netdev.empty() || netdev.size() >= IFNAMSIZ) return std::nullopt;
  const UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::nullopt;
  const uint32_t count = stats_count(fd.get(), netdev);
  // A driver with tens of thousands of statistics is not one this reader understands.
  if (count == 0 || count > 65536) return std::nullopt;

  std::vector<std::byte> names(sizeof(ethtool_gstrings) + size_t{count} * ETH_GSTRING_LEN);
  auto* strings = reinterpret_cast<ethtool_gstrings*>(names.data());
  strings->cmd = ETHTOOL_GSTRINGS;
  strings->string_set = ETH_SS_STATS;
  strings->len = count;
  if (!ethtool_ioctl(fd.get(), netdev, strings)) return std::nullopt;

  std::vector<std::byte> values(sizeof(ethtool_stats) + size_t{count} * sizeof(uint64_t));
  auto* stats = reinterpret_cast<ethtool_stats*>(values.data());
  stats->cmd = ETHTOOL_GSTATS;
  stats->n_stats = count;
  if (!ethtool_ioctl(fd.get(), netdev, stats)) return std::nullopt;

  std::map<std::string, uint64_t> out;
  const uint32_t n = std::min({count, strings->len, stats->n_stats});
  for (uint32_t i = 0; i < n; ++i) {
    const char* raw = reinterpret_cast<const char*>(strings->data) + size_t{i} * ETH_GSTRING_LEN;
    std::string name(raw, strnlen(raw, ETH_GSTRING_LEN));
    if (!name.empty() && flow_control_counter(name)) out.emplace(std::move(name), stats->data[i]);
  }
  return out;
}

}  // namespace fb
