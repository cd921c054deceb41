#include "sweep/local_host.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstdlib>

#include "bootstrap/unique_fd.h"
#include "info/inventory.h"
#include "p2p/p2p_support.h"

namespace fb {
namespace {

// Connecting a UDP socket sends nothing; it only asks the kernel for the route.
std::string source_address_towards(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found) return {};
  std::string address;
  UniqueFd fd(::socket(found->ai_family, SOCK_DGRAM, 0));
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  if (fd.get() >= 0 && ::connect(fd.get(), found->ai_addr, found->ai_addrlen) == 0 &&
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &length) == 0) {
    char text[NI_MAXHOST] = {};
    if (::getnameinfo(reinterpret_cast<sockaddr*>(&local), length, text, sizeof(text), nullptr, 0, NI_NUMERICHOST) == 0)
      address = text;
  }
  ::freeaddrinfo(found);
  return address;
}

// The reported speed of the interface holding `address`; without one, of the fastest
// interface that is up (the data NIC is the fast one on a cluster node; loopback reports none).
std::optional<double> link_speed_gbits(const std::string& address) {
  const auto interfaces = collect_net_interfaces("/sys");
  const auto addresses = interface_addresses();
  std::optional<double> fastest;
  for (const NetInterface& nic : interfaces.items) {
    if (!nic.speed_mbps || *nic.speed_mbps <= 0) continue;
    const double gbits = static_cast<double>(*nic.speed_mbps) / 1000;
    auto it = addresses.find(nic.name);
    if (!address.empty() && it != addresses.end()) {
      for (const std::string& a : it->second)
        if (a.substr(0, a.find('/')) == address) return gbits;
    }
    if (nic.state == "up" && (!fastest || gbits > *fastest)) fastest = gbits;
  }
  return address.empty() ? fastest : std::nullopt;
}

}  // namespace

Expected<RankHost> local_rank_host(const FabricPlan& fabric, const BootstrapFlags& flags, int local_rank) {
  RankHost host;
  host.hostname = local_host_name();
  if (fabric.labels.size() == 1) {
    host.label = fabric.labels.front();
  } else if (!fabric.labels.empty()) {
    if (local_rank >= static_cast<int>(fabric.labels.size()))
      return Status::error(StatusCode::kInvalidArgument,
                           "--label lists " + std::to_string(fabric.labels.size()) + " names but this host runs local rank " +
                               std::to_string(local_rank) + ": give one name per local rank, or one name",
                           FB_HERE);
    host.label = fabric.labels[local_rank];
  }
  auto config = resolve_bootstrap_config(flags, [](const char* name) { return std::getenv(name); });
  if (config.ok() && config.value().kind == "tcp")
    host.address = source_address_towards(config.value().host, config.value().port);
  host.link_gbits = link_speed_gbits(host.address);
  return host;
}

Expected<HostMap> agree_on_hosts(const FabricPlan& fabric, const BootstrapFlags& flags, Bootstrap& bootstrap,
                                 const std::string& command) {
  FB_TRY_ASSIGN(RankHost mine, local_rank_host(fabric, flags, bootstrap.local_rank()));
  FB_TRY_ASSIGN(auto all, bootstrap.allgather(pack_rank_host(mine)));
  std::vector<RankHost> by_rank;
  for (const Bytes& bytes : all) {
    FB_TRY_ASSIGN(RankHost host, unpack_rank_host(bytes));
    by_rank.push_back(std::move(host));
  }
  FB_TRY_ASSIGN(HostMap map, group_hosts(by_rank));
  if (map.names.size() < 2)
    return Status::error(StatusCode::kInvalidArgument, command + " measures between hosts, but all " + std::to_string(bootstrap.size()) + " ranks are on host '" +
                   map.names.front() +
                   "': start one rank per host (mpirun/srun, or --bootstrap tcp on each host), or give each "
                   "local rank its own --label (e.g. --label h0,h1,h2,h3)",
                         FB_HERE);
  return map;
}

}  // namespace fb
