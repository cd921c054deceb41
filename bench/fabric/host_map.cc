#include "fabric/host_map.h"

#include <cstdlib>
#include <map>
#include <string_view>

namespace fb {
namespace {

Status invalid(std::string message) {
  return Status::error(StatusCode::kInvalidArgument, std::move(message), FB_HERE);
}

std::string key_of(const RankHost& h) { return h.label.empty() ? h.hostname + "@" + h.address : h.label; }

}  // namespace

Expected<HostMap> group_hosts(const std::vector<RankHost>& by_rank) {
  if (by_rank.empty()) return invalid("no ranks to group into hosts");
  const bool labelled = !by_rank.front().label.empty();
  for (size_t rank = 0; rank < by_rank.size(); ++rank) {
    const RankHost& h = by_rank[rank];
    if (h.label.empty() != !labelled)
      return invalid("rank " + std::to_string(rank) + (labelled ? " has no --label while rank 0 has one"
                                                                 : " has a --label while rank 0 has none") +
                     ": give every rank a label, or none");
    if (h.label.empty() && h.hostname.empty())
      return invalid("rank " + std::to_string(rank) + " has neither a hostname nor a --label");
  }
  HostMap map;
  std::map<std::string, int> index_of_key;
  std::map<std::string, int> keys_per_hostname;
  for (size_t rank = 0; rank < by_rank.size(); ++rank) {
    const std::string key = key_of(by_rank[rank]);
    auto [it, added] = index_of_key.emplace(key, static_cast<int>(map.ranks.size()));
    if (added) {
      map.ranks.emplace_back();
      map.names.push_back(key);
      map.link_gbits.push_back(by_rank[rank].link_gbits);
      if (!labelled) ++keys_per_hostname[by_rank[rank].hostname];
    }
    map.ranks[it->second].push_back(static_cast<int>(rank));
    map.host_of_rank.push_back(it->second);
  }
  if (labelled) return map;
  for (size_t host = 0; host < map.names.size(); ++host) {
    const RankHost& first = by_rank[map.ranks[host].front()];
    const bool shared = keys_per_hostname[first.hostname] > 1;
    map.names[host] = shared && !first.address.empty() ? first.hostname + "@" + first.address : first.hostname;
  }
  return map;
}

Bytes pack_rank_host(const RankHost& host) {
  const std::string speed = host.link_gbits ? std::to_string(*host.link_gbits) : std::string();
  const std::string text = host.label + '\n' + host.hostname + '\n' + host.address + '\n' + speed;
  const auto* first = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(first, first + text.size());
}

Expected<RankHost> unpack_rank_host(ByteSpan bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const size_t first = text.find('\n');
  const size_t second = first == std::string_view::npos ? first : text.find('\n', first + 1);
  const size_t third = second == std::string_view::npos ? second : text.find('\n', second + 1);
  auto malformed = [] { return Status::error(StatusCode::kProtocol, "a rank sent a malformed host description", FB_HERE); };
  if (third == std::string_view::npos) return malformed();
  RankHost host{std::string(text.substr(0, first)), std::string(text.substr(first + 1, second - first - 1)),
                std::string(text.substr(second + 1, third - second - 1)), std::nullopt};
  const std::string speed(text.substr(third + 1));
  if (!speed.empty()) {
    char* end = nullptr;
    host.link_gbits = std::strtod(speed.c_str(), &end);
    if (end == speed.c_str() || *end != '\0') return malformed();
  }
  return host;
}

}  // namespace fb
