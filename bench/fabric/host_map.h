// Which ranks share a host. A fabric sweep measures host pairs, not rank pairs: ranks on one
// host share its NIC(s), so they are grouped and measured together.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fabricbench/transport/bootstrap.h"
#include "fabricbench/transport/status.h"

namespace fb {

// What one rank says about where it runs.
struct RankHost {
  std::string label;     // --label; wins when given
  std::string hostname;
  std::string address;   // the address its ranks use to reach the job (may be empty)
  std::optional<double> link_gbits;  // its NIC's reported link speed, when known
  bool operator==(const RankHost&) const = default;
};

struct HostMap {
  std::vector<std::string> names;       // by host index, in order of each host's lowest rank
  std::vector<std::vector<int>> ranks;  // by host index, ascending
  std::vector<int> host_of_rank;
  std::vector<std::optional<double>> link_gbits;  // by host index: its first rank's NIC speed
};

// Ranks are one host when their labels match or, without labels, their hostname and address
// do. A host's name is its label, or its hostname, or "hostname@address" when two hosts
// share a hostname (containers, namespaces). Errors: no ranks, a rank with neither label nor
// hostname, labels on some ranks only (mixing would pair a label with a hostname).
Expected<HostMap> group_hosts(const std::vector<RankHost>& by_rank);

Bytes pack_rank_host(const RankHost& host);
Expected<RankHost> unpack_rank_host(ByteSpan bytes);

}  // namespace fb
