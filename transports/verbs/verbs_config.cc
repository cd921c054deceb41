#include "verbs_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace fb::verbs {
namespace {

Status bad_setting(const std::string& key, const std::string& value, const std::string& why) {
  return Status::error(StatusCode::kInvalidArgument,
                       "verbs setting " + key + "=" + value + ": " + why, FB_HERE);
}

Expected<int> parse_int(const std::string& key, const std::string& value, int low, int high) {
  int out = 0;
  const char* end = value.data() + value.size();
  auto [at, error] = std::from_chars(value.data(), end, out);
  if (error != std::errc() || at != end || value.empty())
    return bad_setting(key, value, "not an integer");
  if (out < low || out > high)
    return bad_setting(key, value,
                       "out of range [" + std::to_string(low) + ", " + std::to_string(high) + "]");
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(separator, start), text.size());
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

constexpr uint32_t kConnectionMagic = 0x43425646;  // "FVBC"
constexpr uint32_t kRegionMagic = 0x52425646;      // "FVBR"
constexpr uint32_t kHeaderMagic = 0x4d425646;      // "FVBM"
constexpr uint16_t kWireVersion = 3;

// Little-endian fixed-width fields: the peer may be another build, never another layout.
class Writer {
 public:
  template <typename T>
  void put(T value) {
    for (size_t i = 0; i < sizeof(T); ++i)
      out_.push_back(static_cast<std::byte>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff));
  }
  void put(const std::array<uint8_t, 16>& gid) {
    for (uint8_t b : gid) out_.push_back(static_cast<std::byte>(b));
  }
  Bytes take() { return std::move(out_); }

 private:
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteSpan in) : in_(in) {}
  template <typename T>
  bool get(T& value) {
    if (in_.size() - at_ < sizeof(T)) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(in_[at_ + i]) << (8 * i);
    value = static_cast<T>(v);
    at_ += sizeof(T);
    return true;
  }
  bool get(std::array<uint8_t, 16>& gid) {
    if (in_.size() - at_ < gid.size()) return false;
    for (auto& b : gid) b = static_cast<uint8_t>(in_[at_++]);
    return true;
  }
  bool done() const { return at_ == in_.size(); }

 private:
  ByteSpan in_;
  size_t at_ = 0;
};

Status malformed(const char* what, int from_rank, size_t size) {
  return Status::error(StatusCode::kProtocol,
                       "rank " + std::to_string(from_rank) + " sent a malformed verbs " + what + " (" +
                           std::to_string(size) + " bytes; is it from another transport or build?)",
                       FB_HERE);
}

}  // namespace

Expected<Settings> parse_settings(const std::map<std::string, std::string>& settings) {
  Settings out;
  for (const auto& [key, value] : settings) {
    if (key == "ib_dev") {
      out.devices = split(value, ',');
      for (const auto& name : out.devices)
        if (name.empty()) return bad_setting(key, value, "empty device name");
    } else if (key == "ib_port") {
      FB_TRY_ASSIGN(out.port, parse_int(key, value, 1, 255));
    } else if (key == "gid_index") {
      FB_TRY_ASSIGN(int index, parse_int(key, value, 0, 65535));
      out.gid_index = index;
    } else if (key == "ip") {
      auto ip = parse_ipv4(value);
      if (!ip.ok()) return bad_setting(key, value, "not an IPv4 address");
      out.ip = ip.value();
    } else if (key == "mtu") {
      FB_TRY_ASSIGN(out.mtu, parse_int(key, value, 256, 4096));
      if (mtu_enum(out.mtu) == 0) return bad_setting(key, value, "one of 256, 512, 1024, 2048, 4096");
    } else if (key == "sq_depth") {
      FB_TRY_ASSIGN(out.sq_depth, parse_int(key, value, 1, 1 << 15));
    } else if (key == "recv_depth") {
      FB_TRY_ASSIGN(out.recv_depth, parse_int(key, value, 1, 1 << 15));
    } else if (key == "chunk") {
      FB_TRY_ASSIGN(out.chunk, parse_int(key, value, 64, 1 << 30));
    } else if (key == "timeout") {
      FB_TRY_ASSIGN(out.ack_timeout, parse_int(key, value, 1, 31));
    } else if (key == "retry_cnt") {
      FB_TRY_ASSIGN(out.retry_count, parse_int(key, value, 0, 7));
    } else if (key == "tclass") {
      FB_TRY_ASSIGN(out.traffic_class, parse_int(key, value, 0, 255));
    } else if (key == "sl") {
      FB_TRY_ASSIGN(out.service_level, parse_int(key, value, 0, 15));
    } else if (key == "inline") {
      FB_TRY_ASSIGN(out.max_inline, parse_int(key, value, 0, 4096));
    } else if (key == "qps") {
      FB_TRY_ASSIGN(out.qps, parse_int(key, value, 1, 64));
    } else if (key == "cq_mod") {
      FB_TRY_ASSIGN(out.cq_mod, parse_int(key, value, 1, 1 << 15));
    } else if (key == "rdma_cm") {
      FB_TRY_ASSIGN(int on, parse_int(key, value, 0, 1));
      out.rdma_cm = on == 1;
    } else {
      return bad_setting(key, value,
                         "unknown key (known: ib_dev, ib_port, gid_index, ip, mtu, sq_depth, recv_depth, "
                         "chunk, timeout, retry_cnt, tclass, sl, inline, qps, cq_mod, rdma_cm)");
    }
  }
  if (out.cq_mod > out.sq_depth)
    return bad_setting("cq_mod", std::to_string(out.cq_mod),
                       "must not exceed the send queue depth (sq_depth " + std::to_string(out.sq_depth) +
                           "): the queue would fill before a completion frees it");
  if (out.rdma_cm && out.qps > 1)
    return bad_setting("rdma_cm", "1",
                       "connects one QP per peer; it cannot be combined with qps=" + std::to_string(out.qps) +
                           " (drop --qps or --rdma-cm)");
  return out;
}

std::optional<std::string> device_for_local_rank(const Settings& settings, int local_rank) {
  if (settings.devices.empty()) return std::nullopt;
  const size_t n = settings.devices.size();
  return settings.devices[static_cast<size_t>(local_rank < 0 ? 0 : local_rank) % n];
}

const char* to_string(GidType type) {
  switch (type) {
    case GidType::kIb: return "IB";
    case GidType::kRoceV1: return "RoCEv1";
    case GidType::kRoceV2: return "RoCEv2";
  }
  return "?";
}

bool is_ipv4_mapped(const std::array<uint8_t, 16>& gid) {
  for (int i = 0; i < 10; ++i)
    if (gid[i] != 0) return false;
  return gid[10] == 0xff && gid[11] == 0xff;
}

bool is_link_local(const std::array<uint8_t, 16>& gid) {
  return gid[0] == 0xfe && (gid[1] & 0xc0) == 0x80;
}

std::string gid_to_string(const std::array<uint8_t, 16>& gid) {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_ipv4_mapped(gid)) {
    inet_ntop(AF_INET, gid.data() + 12, text, sizeof(text));
    return std::string("::ffff:") + text;
  }
  inet_ntop(AF_INET6, gid.data(), text, sizeof(text));
  return text;
}

Expected<std::array<uint8_t, 4>> parse_ipv4(const std::string& text) {
  std::array<uint8_t, 4> out{};
  if (inet_pton(AF_INET, text.c_str(), out.data()) != 1)
    return Status::error(StatusCode::kInvalidArgument, "'" + text + "' is not an IPv4 address", FB_HERE);
  return out;
}

namespace {
std::string table_text(std::span<const GidEntry> entries) {
  if (entries.empty()) return "the table is empty";
  std::string out;
  for (const GidEntry& e : entries) {
    if (!out.empty()) out += ", ";
    out += std::to_string(e.index) + ": " + gid_to_string(e.gid) + " " + to_string(e.type);
    if (!e.netdev.empty()) out += " on " + e.netdev;
  }
  return out;
}
}  // namespace

Expected<GidEntry> select_gid(std::span<const GidEntry> entries, const GidRequest& request) {
  if (request.index) {
    for (const GidEntry& e : entries)
      if (e.index == *request.index) return e;
    return Status::error(StatusCode::kInvalidArgument,
                         "gid_index " + std::to_string(*request.index) + " is not a populated GID of " +
                             request.where + " (" + table_text(entries) + ")",
                         FB_HERE);
  }
  if (request.infiniband) {
    for (const GidEntry& e : entries)
      if (e.type == GidType::kIb) return e;
    return Status::error(StatusCode::kUnavailable,
                         request.where + " is InfiniBand but has no IB GID (" + table_text(entries) + ")",
                         FB_HERE);
  }
  if (request.ip) {
    for (const GidEntry& e : entries)
      if (e.type == GidType::kRoceV2 && is_ipv4_mapped(e.gid) &&
          std::memcmp(e.gid.data() + 12, request.ip->data(), 4) == 0)
        return e;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, request.ip->data(), text, sizeof(text));
    return Status::error(StatusCode::kInvalidArgument,
                         std::string("no RoCEv2 GID with address ") + text + " on " + request.where + " (" +
                             table_text(entries) + ")",
                         FB_HERE);
  }
  for (const GidEntry& e : entries)
    if (e.type == GidType::kRoceV2 && is_ipv4_mapped(e.gid)) return e;
  for (const GidEntry& e : entries)
    if (e.type == GidType::kRoceV2 && !is_link_local(e.gid)) return e;
  return Status::error(StatusCode::kUnavailable,
                       "no routable RoCEv2 GID on " + request.where +
                           ": only RoCEv1 or link-local GIDs exist (" + table_text(entries) +
                           "); give its network device an IPv4 address, or force one with "
                           "--transport-opt gid_index=N",
                       FB_HERE);
}

std::vector<GidEntry> route_candidates(std::span<const GidEntry> entries) {
  std::vector<GidEntry> out;
  for (const GidEntry& e : entries)
    if (e.type == GidType::kRoceV2 && is_ipv4_mapped(e.gid)) out.push_back(e);
  return out;
}

std::optional<RouteChoice> choose_by_route(std::span<const GidEntry> local,
                                           std::span<const std::array<uint8_t, 16>> remote,
                                           const RouteSource& source_for) {
  for (const auto& peer_gid : remote) {
    if (!is_ipv4_mapped(peer_gid)) continue;
    std::array<uint8_t, 4> address{};
    std::memcpy(address.data(), peer_gid.data() + 12, 4);
    const auto source = source_for(address);
    if (!source) continue;
    for (const GidEntry& mine : local)
      if (is_ipv4_mapped(mine.gid) && std::memcmp(mine.gid.data() + 12, source->data(), 4) == 0)
        return RouteChoice{mine, peer_gid};
  }
  return std::nullopt;
}

Bytes pack(const ConnectionInfo& info) {
  Writer w;
  w.put(kConnectionMagic);
  w.put(kWireVersion);
  w.put(info.link_layer);
  w.put(info.mtu);
  w.put(info.lid);
  w.put(info.gid);
  w.put(static_cast<uint8_t>(info.rdma_cm ? 1 : 0));
  for (uint8_t b : info.cm_ip) w.put(b);
  w.put(info.cm_port);
  const size_t candidates = std::min<size_t>(info.candidates.size(), 255);
  w.put(static_cast<uint8_t>(candidates));
  for (size_t i = 0; i < candidates; ++i) w.put(info.candidates[i]);
  w.put(static_cast<uint32_t>(info.qps.size()));
  for (const auto& qp : info.qps) {
    w.put(qp.qpn);
    w.put(qp.psn);
  }
  return w.take();
}

Expected<ConnectionInfo> unpack_connection(ByteSpan bytes, int from_rank) {
  Reader r(bytes);
  uint32_t magic = 0, count = 0;
  uint16_t version = 0;
  uint8_t candidates = 0, rdma_cm = 0;
  ConnectionInfo info;
  if (!r.get(magic) || magic != kConnectionMagic || !r.get(version) || version != kWireVersion ||
      !r.get(info.link_layer) || !r.get(info.mtu) || !r.get(info.lid) || !r.get(info.gid) || !r.get(rdma_cm) ||
      rdma_cm > 1 || !r.get(info.cm_ip[0]) || !r.get(info.cm_ip[1]) || !r.get(info.cm_ip[2]) ||
      !r.get(info.cm_ip[3]) || !r.get(info.cm_port) || !r.get(candidates))
    return malformed("connection info", from_rank, bytes.size());
  info.rdma_cm = rdma_cm == 1;
  info.candidates.resize(candidates);
  for (auto& gid : info.candidates)
    if (!r.get(gid)) return malformed("connection info", from_rank, bytes.size());
  if (!r.get(count) || count > (1u << 24) ||
      bytes.size() != 38 + size_t{candidates} * 16 + size_t{count} * 8)
    return malformed("connection info", from_rank, bytes.size());
  info.qps.resize(count);
  for (auto& qp : info.qps)
    if (!r.get(qp.qpn) || !r.get(qp.psn)) return malformed("connection info", from_rank, bytes.size());
  if (!r.done()) return malformed("connection info", from_rank, bytes.size());
  return info;
}

Bytes pack(const RegionKey& key) {
  Writer w;
  w.put(kRegionMagic);
  w.put(key.rkey);
  w.put(key.address);
  w.put(key.size);
  return w.take();
}

Expected<RegionKey> unpack_region(ByteSpan bytes, int from_rank) {
  Reader r(bytes);
  uint32_t magic = 0;
  RegionKey key;
  if (!r.get(magic) || magic != kRegionMagic || !r.get(key.rkey) || !r.get(key.address) ||
      !r.get(key.size) || !r.done())
    return malformed("region key", from_rank, bytes.size());
  return key;
}

void write_header(std::byte* out, const MessageHeader& header) {
  const uint32_t magic = kHeaderMagic;
  std::memcpy(out, &header.size, 8);
  std::memcpy(out + 8, &header.tag, 4);
  std::memcpy(out + 12, &magic, 4);
}

Expected<MessageHeader> read_header(const std::byte* in, size_t available, int from_rank) {
  MessageHeader header;
  uint32_t magic = 0;
  if (available >= kHeaderBytes) {
    std::memcpy(&header.size, in, 8);
    std::memcpy(&header.tag, in + 8, 4);
    std::memcpy(&magic, in + 12, 4);
  }
  if (magic != kHeaderMagic) return malformed("message header", from_rank, available);
  return header;
}

int mtu_enum(int bytes) {
  switch (bytes) {
    case 256: return 1;
    case 512: return 2;
    case 1024: return 3;
    case 2048: return 4;
    case 4096: return 5;
  }
  return 0;
}

int mtu_bytes(int mtu) { return mtu >= 1 && mtu <= 5 ? 128 << mtu : 0; }

}  // namespace fb::verbs
