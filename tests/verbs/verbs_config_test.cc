// The verbs transport's pure logic, without a device: settings, GID selection from synthetic
// GID tables and routes, the bytes ranks exchange, and GPU registration's unsupported paths.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include "verbs_config.h"
#include "verbs_dmabuf.h"

namespace fb::verbs {
namespace {

std::array<uint8_t, 16> ipv4_gid(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}
std::array<uint8_t, 16> link_local_gid() {
  return {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};
}
std::array<uint8_t, 16> global_v6_gid() {
  return {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
}

// What rxe shows on a netdev with a link-local IPv6, an IPv4 and a global IPv6 address.
std::vector<GidEntry> rxe_table() {
  return {
      {0, link_local_gid(), GidType::kRoceV1, "rxenet0"},
      {1, link_local_gid(), GidType::kRoceV2, "rxenet0"},
      {2, ipv4_gid(10, 99, 0, 1), GidType::kRoceV1, "rxenet0"},
      {3, ipv4_gid(10, 99, 0, 1), GidType::kRoceV2, "rxenet0"},
      {4, global_v6_gid(), GidType::kRoceV1, "rxenet0"},
      {5, global_v6_gid(), GidType::kRoceV2, "rxenet0"},
  };
}

TEST(VerbsGid, DefaultIsTheRoceV2Ipv4Gid) {
  auto table = rxe_table();
  auto chosen = select_gid(table, GidRequest{.where = "rxe0 port 1"});
  ASSERT_TRUE(chosen.ok()) << chosen.status().to_string();
  EXPECT_EQ(chosen->index, 3);
  EXPECT_EQ(chosen->type, GidType::kRoceV2);
  EXPECT_EQ(gid_to_string(chosen->gid), "::ffff:10.99.0.1");
  EXPECT_EQ(chosen->netdev, "rxenet0");
}

TEST(VerbsGid, GlobalIpv6WhenNoIpv4) {
  auto table = rxe_table();
  table.erase(table.begin() + 2, table.begin() + 4);
  auto chosen = select_gid(table, GidRequest{.where = "rxe0 port 1"});
  ASSERT_TRUE(chosen.ok()) << chosen.status().to_string();
  EXPECT_EQ(chosen->index, 5);
  EXPECT_EQ(gid_to_string(chosen->gid), "fd99::1");
}

TEST(VerbsGid, OnlyRoceV1OrLinkLocalIsAClearError) {
  std::vector<GidEntry> table{{0, link_local_gid(), GidType::kRoceV1, "eth0"},
                              {1, link_local_gid(), GidType::kRoceV2, "eth0"},
                              {2, ipv4_gid(192, 168, 1, 5), GidType::kRoceV1, "eth0"}};
  auto chosen = select_gid(table, GidRequest{.where = "mlx5_0 port 1"});
  ASSERT_FALSE(chosen.ok());
  const std::string message = chosen.status().message();
  EXPECT_NE(message.find("only RoCEv1 or link-local GIDs"), std::string::npos) << message;
  EXPECT_NE(message.find("mlx5_0 port 1"), std::string::npos) << message;
  EXPECT_NE(message.find("gid_index"), std::string::npos) << message;
  EXPECT_NE(message.find("2: ::ffff:192.168.1.5 RoCEv1 on eth0"), std::string::npos) << message;
}

TEST(VerbsGid, ForcedIndex) {
  auto table = rxe_table();
  auto chosen = select_gid(table, GidRequest{.index = 2});
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->type, GidType::kRoceV1);
  auto missing = select_gid(table, GidRequest{.index = 9, .where = "rxe0 port 1"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("gid_index 9 is not a populated GID of rxe0 port 1"),
            std::string::npos)
      << missing.status().message();
}

TEST(VerbsGid, ByIpv4Address) {
  auto table = rxe_table();
  table.push_back({6, ipv4_gid(10, 99, 0, 2), GidType::kRoceV2, "rxenet0"});
  auto chosen = select_gid(table, GidRequest{.ip = std::array<uint8_t, 4>{10, 99, 0, 2}});
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->index, 6);
  auto absent = select_gid(table, GidRequest{.ip = std::array<uint8_t, 4>{10, 0, 0, 7}});
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.status().message().find("10.0.0.7"), std::string::npos);
}

TEST(VerbsGid, InfinibandTakesTheIbGid) {
  std::vector<GidEntry> table{{0, link_local_gid(), GidType::kIb, ""}};
  auto chosen = select_gid(table, GidRequest{.infiniband = true});
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->index, 0);
}

TEST(VerbsGid, EmptyTable) {
  auto chosen = select_gid({}, GidRequest{.where = "rxe0 port 1"});
  ASSERT_FALSE(chosen.ok());
  EXPECT_NE(chosen.status().message().find("the table is empty"), std::string::npos);
}

// Two NICs on two subnets; the peer also has one address on each. Routes: 10.1/16 leaves from
// 10.1.0.5, 10.2/16 from 10.2.0.5, nothing else is reachable.
std::optional<std::array<uint8_t, 4>> two_subnets(const std::array<uint8_t, 4>& to) {
  if (to[0] == 10 && to[1] == 1) return std::array<uint8_t, 4>{10, 1, 0, 5};
  if (to[0] == 10 && to[1] == 2) return std::array<uint8_t, 4>{10, 2, 0, 5};
  return std::nullopt;
}

TEST(VerbsGid, RouteCandidatesAreTheRoceV2Ipv4Gids) {
  const auto candidates = route_candidates(rxe_table());
  ASSERT_EQ(candidates.size(), 1u);
  EXPECT_EQ(candidates[0].index, 3);
}

TEST(VerbsGid, ChosenByRouteTowardsThePeer) {
  const std::vector<GidEntry> mine{{3, ipv4_gid(10, 1, 0, 5), GidType::kRoceV2, "eth1"},
                                   {7, ipv4_gid(10, 2, 0, 5), GidType::kRoceV2, "eth2"}};
  // The peer sits on the second subnet only: the route there leaves from eth2's address.
  const std::vector<std::array<uint8_t, 16>> peer_b{ipv4_gid(172, 16, 0, 9), ipv4_gid(10, 2, 0, 6)};
  auto choice = choose_by_route(mine, peer_b, two_subnets);
  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->local.index, 7);
  EXPECT_EQ(choice->local.netdev, "eth2");
  EXPECT_EQ(choice->remote, ipv4_gid(10, 2, 0, 6));
  // The peer's first reachable address decides when it has several.
  const std::vector<std::array<uint8_t, 16>> peer_a{ipv4_gid(10, 1, 0, 6), ipv4_gid(10, 2, 0, 6)};
  choice = choose_by_route(mine, peer_a, two_subnets);
  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->local.index, 3);
  EXPECT_EQ(choice->remote, ipv4_gid(10, 1, 0, 6));
}

TEST(VerbsGid, NoMatchingRouteIsNoChoice) {
  const std::vector<GidEntry> mine{{3, ipv4_gid(10, 1, 0, 5), GidType::kRoceV2, "eth1"}};
  // Reachable, but from an address that is none of this rank's RDMA GIDs (a management NIC).
  const auto other_source = [](const std::array<uint8_t, 4>&) {
    return std::optional<std::array<uint8_t, 4>>(std::array<uint8_t, 4>{192, 168, 0, 2});
  };
  const std::vector<std::array<uint8_t, 16>> peer{ipv4_gid(10, 1, 0, 6)};
  EXPECT_FALSE(choose_by_route(mine, peer, other_source).has_value());
  EXPECT_FALSE(choose_by_route(mine, {}, two_subnets).has_value());
  const std::vector<std::array<uint8_t, 16>> unreachable{ipv4_gid(172, 16, 0, 9)};
  EXPECT_FALSE(choose_by_route(mine, unreachable, two_subnets).has_value());
}

TEST(VerbsSettings, Defaults) {
  auto settings = parse_settings({});
  ASSERT_TRUE(settings.ok());
  EXPECT_TRUE(settings->devices.empty());
  EXPECT_EQ(settings->port, 0);
  EXPECT_FALSE(settings->gid_index.has_value());
  EXPECT_EQ(settings->mtu, 0);
  EXPECT_EQ(settings->qps, 1);
  EXPECT_EQ(settings->cq_mod, 1);
  EXPECT_FALSE(settings->rdma_cm);
}

TEST(VerbsSettings, Parses) {
  auto settings = parse_settings({{"ib_dev", "mlx5_0,mlx5_1"}, {"ib_port", "2"}, {"gid_index", "3"},
                                  {"ip", "10.99.0.2"}, {"mtu", "1024"}, {"sq_depth", "64"},
                                  {"tclass", "106"}, {"sl", "3"}, {"inline", "64"}, {"qps", "4"},
                                  {"cq_mod", "16"}});
  ASSERT_TRUE(settings.ok()) << settings.status().to_string();
  EXPECT_EQ(settings->devices, (std::vector<std::string>{"mlx5_0", "mlx5_1"}));
  EXPECT_EQ(settings->port, 2);
  EXPECT_EQ(settings->gid_index, 3);
  EXPECT_EQ(*settings->ip, (std::array<uint8_t, 4>{10, 99, 0, 2}));
  EXPECT_EQ(settings->mtu, 1024);
  EXPECT_EQ(settings->sq_depth, 64);
  EXPECT_EQ(settings->traffic_class, 106);
  EXPECT_EQ(settings->service_level, 3);
  EXPECT_EQ(settings->max_inline, 64);
  EXPECT_EQ(settings->qps, 4);
  EXPECT_EQ(settings->cq_mod, 16);
  EXPECT_EQ(device_for_local_rank(*settings, 0), "mlx5_0");
  EXPECT_EQ(device_for_local_rank(*settings, 3), "mlx5_1");
}

TEST(VerbsSettings, RdmaCm) {
  auto on = parse_settings({{"rdma_cm", "1"}});
  ASSERT_TRUE(on.ok()) << on.status().to_string();
  EXPECT_TRUE(on->rdma_cm);
  auto off = parse_settings({{"rdma_cm", "0"}, {"qps", "4"}});
  ASSERT_TRUE(off.ok()) << off.status().to_string();
  EXPECT_FALSE(off->rdma_cm);
  // The CM connects one QP per peer: several are refused, naming both settings.
  auto both = parse_settings({{"rdma_cm", "1"}, {"qps", "2"}});
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(both.status().message().find("rdma_cm=1"), std::string::npos) << both.status().message();
  EXPECT_NE(both.status().message().find("qps=2"), std::string::npos) << both.status().message();
  EXPECT_TRUE(parse_settings({{"rdma_cm", "1"}, {"qps", "1"}}).ok());
}

TEST(VerbsSettings, RejectsBadValuesAndUnknownKeys) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"gid_index", "x"}, {"gid_index", "-1"}, {"mtu", "1500"}, {"ib_port", "0"}, {"ip", "10.1"},
           {"ib_dev", "a,,b"}, {"sq_depth", "12abc"}, {"gidindex", "1"}, {"qps", "0"},
           {"qps", "65"}, {"cq_mod", "0"}, {"cq_mod", "129"}, {"rdma_cm", "2"},
           {"rdma_cm", "yes"}}) {
    auto settings = parse_settings({{key, value}});
    ASSERT_FALSE(settings.ok()) << key << "=" << value;
    EXPECT_EQ(settings.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(settings.status().message().find(key + "=" + value), std::string::npos)
        << settings.status().message();
  }
}

TEST(VerbsWire, ConnectionInfoRoundTrip) {
  ConnectionInfo info;
  info.link_layer = 2;
  info.mtu = 3;
  info.lid = 0x1234;
  info.gid = ipv4_gid(10, 99, 0, 1);
  info.candidates = {ipv4_gid(10, 99, 0, 1), ipv4_gid(192, 168, 7, 1)};
  info.qps = {{17, 0xabcdef}, {18, 1}, {0xffffff, 0}};
  const Bytes bytes = pack(info);
  auto back = unpack_connection(bytes, 1);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->link_layer, 2);
  EXPECT_EQ(back->mtu, 3);
  EXPECT_EQ(back->lid, 0x1234);
  EXPECT_EQ(back->gid, info.gid);
  EXPECT_EQ(back->candidates, info.candidates);
  ASSERT_EQ(back->qps.size(), 3u);
  EXPECT_EQ(back->qps[0].qpn, 17u);
  EXPECT_EQ(back->qps[0].psn, 0xabcdefu);
  EXPECT_EQ(back->qps[2].qpn, 0xffffffu);
  EXPECT_FALSE(back->rdma_cm);
  // Where the rank's rdma_cm listener waits travels too.
  info.rdma_cm = true;
  info.cm_ip = {10, 99, 0, 2};
  info.cm_port = 0xbeef;
  back = unpack_connection(pack(info), 1);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_TRUE(back->rdma_cm);
  EXPECT_EQ(back->cm_ip, (std::array<uint8_t, 4>{10, 99, 0, 2}));
  EXPECT_EQ(back->cm_port, 0xbeef);
}

TEST(VerbsWire, MalformedConnectionInfoNamesTheRank) {
  ConnectionInfo info;
  info.qps = {{1, 2}};
  Bytes bytes = pack(info);
  for (Bytes bad : {Bytes{}, Bytes(bytes.begin(), bytes.end() - 1), [&] {
                      Bytes b = bytes;
                      b.push_back(std::byte{0});
                      return b;
                    }(),
                    [&] {
                      Bytes b = bytes;
                      b[0] = std::byte{0};
                      return b;
                    }()}) {
    auto back = unpack_connection(bad, 7);
    ASSERT_FALSE(back.ok());
    EXPECT_EQ(back.status().code(), StatusCode::kProtocol);
    EXPECT_NE(back.status().message().find("rank 7"), std::string::npos);
  }
}

TEST(VerbsWire, RegionKeyRoundTrip) {
  const RegionKey key{0x7f0012345678, (1u << 20) + 3, 0xdeadbeef};
  auto back = unpack_region(pack(key), 2);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->address, key.address);
  EXPECT_EQ(back->size, key.size);
  EXPECT_EQ(back->rkey, key.rkey);
  EXPECT_FALSE(unpack_region(Bytes(24), 2).ok());
  EXPECT_FALSE(unpack_region(Bytes(3), 2).ok());
}

TEST(VerbsWire, MessageHeader) {
  std::byte buffer[kHeaderBytes];
  write_header(buffer, MessageHeader{(uint64_t{1} << 33) + 5, 0xfffffff0u});
  auto header = read_header(buffer, sizeof(buffer), 1);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->size, (uint64_t{1} << 33) + 5);
  EXPECT_EQ(header->tag, 0xfffffff0u);
  EXPECT_FALSE(read_header(buffer, kHeaderBytes - 1, 1).ok());
}

TEST(VerbsWire, Mtu) {
  for (int bytes : {256, 512, 1024, 2048, 4096}) EXPECT_EQ(mtu_bytes(mtu_enum(bytes)), bytes);
  EXPECT_EQ(mtu_enum(1500), 0);
  EXPECT_EQ(mtu_bytes(0), 0);
}

}  // namespace
}  // namespace fb::verbs

// GPU memory over verbs without what it needs: kUnsupported naming the missing part (this
// build's CUDA, or the host's CUDA driver), never a crash or a generic error.
namespace fb::verbs {
namespace {

TEST(VerbsDmabuf, WithoutCudaSaysWhatIsMissing) {
  if (dmabuf_built()) {
    if (void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
      dlclose(driver);
      GTEST_SKIP() << "this host has a CUDA driver: registration is tested on a device";
    }
  }
  alignas(4096) static char not_gpu_memory[4096];
  auto mr = register_dmabuf(nullptr, not_gpu_memory, sizeof(not_gpu_memory), 0, "rxe0");
  ASSERT_FALSE(mr.ok());
  EXPECT_EQ(mr.status().code(), StatusCode::kUnsupported);
  const std::string expected = dmabuf_built() ? "no CUDA driver on this host" : "built without CUDA";
  EXPECT_NE(mr.status().message().find(expected), std::string::npos) << mr.status().to_string();
}

}  // namespace
}  // namespace fb::verbs
