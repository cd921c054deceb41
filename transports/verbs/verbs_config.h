// The verbs transport's pure logic, kept apart from the device so it can be unit-tested on a
// host without RDMA: settings parsing, GID selection from a GID table, and the wire formats
// exchanged through the bootstrap (connection info, region keys, message headers).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fabricbench/transport/bootstrap.h"
#include "fabricbench/transport/status.h"

namespace fb::verbs {

// What `--transport-opt KEY=VALUE` can set; every other key is rejected, so a typo is an
// error instead of a silently ignored knob.
struct Settings {
  std::vector<std::string> devices;  // ib_dev: one name, or a list indexed by local rank
  int port = 0;                      // ib_port: 0 = the first active port
  std::optional<int> gid_index;      // gid_index: forced, else chosen (see select_gid)
  std::optional<std::array<uint8_t, 4>> ip;  // ip: the RoCEv2 GID carrying this IPv4 address
  int mtu = 0;                       // mtu in bytes (256..4096); 0 = the port's active MTU
  int sq_depth = 128;                // send queue depth per QP
  int recv_depth = 32;               // bounce receives kept posted per QP
  int chunk = 32768;                 // bounce buffer size: the largest SEND on the wire
  int ack_timeout = 14;              // local ACK timeout exponent: 4.096 us * 2^n
  int retry_count = 7;               // transport retries before a QP fails
  int traffic_class = 0;             // tclass: GRH traffic class (DSCP << 2 | ECN)
  int service_level = 0;             // sl
  int max_inline = 0;                // inline: bytes sent inline in the WQE (0 = off)
  int qps = 1;                       // qps: RC QPs per peer; puts and gets go round-robin
  int cq_mod = 1;                    // cq_mod: request a completion every Nth send WR
  bool rdma_cm = false;              // rdma_cm: connect the QPs with librdmacm (one QP per peer)
};

Expected<Settings> parse_settings(const std::map<std::string, std::string>& settings);

// The device name this local rank uses: the list is indexed round-robin by local rank.
std::optional<std::string> device_for_local_rank(const Settings& settings, int local_rank);

enum class GidType : uint8_t { kIb, kRoceV1, kRoceV2 };
const char* to_string(GidType type);

struct GidEntry {
  int index = 0;
  std::array<uint8_t, 16> gid{};
  GidType type = GidType::kIb;
  std::string netdev;  // empty when the GID has no network device (InfiniBand)
};

// "::ffff:10.99.0.1" for IPv4-mapped GIDs, the usual IPv6 text otherwise.
std::string gid_to_string(const std::array<uint8_t, 16>& gid);
bool is_ipv4_mapped(const std::array<uint8_t, 16>& gid);
bool is_link_local(const std::array<uint8_t, 16>& gid);
Expected<std::array<uint8_t, 4>> parse_ipv4(const std::string& text);

struct GidRequest {
  std::optional<int> index;                  // gid_index
  std::optional<std::array<uint8_t, 4>> ip;  // ip
  bool infiniband = false;                   // the port's link layer is InfiniBand
  std::string where;                         // "rxe0 port 1", for messages
};

// Chooses the GID to route with. InfiniBand: the first IB GID. RoCE: the first RoCEv2 GID
// whose address is IPv4-mapped (routable over IPv4 UDP, what switches and ECN are set up
// for), else the first RoCEv2 global IPv6 one; RoCEv1 and link-local GIDs are never chosen
// by default because they do not cross an IP router. `entries` holds the populated GIDs.
Expected<GidEntry> select_gid(std::span<const GidEntry> entries, const GidRequest& request);

// The GIDs a rank may route with per peer when none was forced (no gid_index, no ip, RoCE):
// its RoCEv2 IPv4-mapped GIDs, one per address.
std::vector<GidEntry> route_candidates(std::span<const GidEntry> entries);

// The source IPv4 address the host's routing table uses towards an address, if any.
using RouteSource = std::function<std::optional<std::array<uint8_t, 4>>(const std::array<uint8_t, 4>&)>;

// The pair of GIDs to connect a peer with: for the first of the peer's candidate addresses
// whose route leaves from the address of one of this rank's candidates, that local GID and
// that peer GID. None when no route matches (the callers then use their default GIDs).
struct RouteChoice {
  GidEntry local;
  std::array<uint8_t, 16> remote{};
};
std::optional<RouteChoice> choose_by_route(std::span<const GidEntry> local,
                                           std::span<const std::array<uint8_t, 16>> remote,
                                           const RouteSource& source_for);

// What a rank publishes so that every peer can connect its QP to this rank's: per peer rank,
// the QP number and first packet sequence number this rank uses for it.
struct ConnectionInfo {
  uint8_t link_layer = 0;  // IBV_LINK_LAYER_*
  uint8_t mtu = 0;         // enum ibv_mtu of the port (active MTU)
  uint16_t lid = 0;
  std::array<uint8_t, 16> gid{};  // the default GID
  // The route_candidates() GIDs, when this rank chooses its GID per peer by route.
  std::vector<std::array<uint8_t, 16>> candidates;
  struct Qp {
    uint32_t qpn = 0;
    uint32_t psn = 0;
  };
  std::vector<Qp> qps;  // indexed by peer rank
  // rdma_cm: where this rank's rdma_cm listener waits (the QP numbers above are then unused).
  bool rdma_cm = false;
  std::array<uint8_t, 4> cm_ip{};
  uint16_t cm_port = 0;
};

Bytes pack(const ConnectionInfo& info);
Expected<ConnectionInfo> unpack_connection(ByteSpan bytes, int from_rank);

// A registered region as a peer sees it.
struct RegionKey {
  uint64_t address = 0;
  uint64_t size = 0;
  uint32_t rkey = 0;
};
Bytes pack(const RegionKey& key);
Expected<RegionKey> unpack_region(ByteSpan bytes, int from_rank);

// Every message starts with this header in its first SEND; the payload follows it and
// continues in later SENDs on the same QP (RC delivers them in order).
struct MessageHeader {
  uint64_t size = 0;
  uint32_t tag = 0;
};
inline constexpr size_t kHeaderBytes = 16;
void write_header(std::byte* out, const MessageHeader& header);
Expected<MessageHeader> read_header(const std::byte* in, size_t available, int from_rank);

// MTU in bytes <-> enum ibv_mtu values (1 = 256 ... 5 = 4096); 0 for an invalid size.
int mtu_enum(int bytes);
int mtu_bytes(int mtu_enum);

}  // namespace fb::verbs
