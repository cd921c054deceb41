#include "fabric/host_map.h"

#include <gtest/gtest.h>

namespace fb {
namespace {

TEST(HostMap, GroupsRanksByHostnameAndAddress) {
  auto map = group_hosts({{"", "n1", "10.0.0.1", 100.0}, {"", "n1", "10.0.0.1", 100.0}, {"", "n2", "10.0.0.2", {}},
                          {"", "n2", "10.0.0.2", {}}});
  ASSERT_TRUE(map.ok()) << map.status().to_string();
  EXPECT_EQ(map->names, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(map->ranks, (std::vector<std::vector<int>>{{0, 1}, {2, 3}}));
  EXPECT_EQ(map->host_of_rank, (std::vector<int>{0, 0, 1, 1}));
  EXPECT_EQ(map->link_gbits, (std::vector<std::optional<double>>{100.0, std::nullopt}));
}

TEST(HostMap, InterleavedRanksKeepFirstSeenOrder) {
  auto map = group_hosts({{"", "b", ""}, {"", "a", ""}, {"", "b", ""}});
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->names, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(map->ranks[0], (std::vector<int>{0, 2}));
}

TEST(HostMap, SharedHostnameIsTellApartByAddress) {
  // Network namespaces or containers on one machine share its hostname.
  auto map = group_hosts({{"", "box", "10.77.0.1"}, {"", "box", "10.77.0.2"}, {"", "solo", "10.0.0.9"}});
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->names, (std::vector<std::string>{"box@10.77.0.1", "box@10.77.0.2", "solo"}));
}

TEST(HostMap, LabelsOverrideHostnames) {
  auto map = group_hosts({{"h0", "box", "x"}, {"h1", "box", "x"}, {"h0", "box", "x"}});
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->names, (std::vector<std::string>{"h0", "h1"}));
  EXPECT_EQ(map->ranks[0], (std::vector<int>{0, 2}));
}

TEST(HostMap, RefusesMixedLabelsAndNamelessRanks) {
  auto mixed = group_hosts({{"h0", "box", ""}, {"", "box", ""}});
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("rank 1 has no --label"), std::string::npos) << mixed.status().message();
  EXPECT_FALSE(group_hosts({{"", "", ""}}).ok());
  EXPECT_FALSE(group_hosts({}).ok());
}

TEST(HostMap, PackRoundTripsAndRejectsGarbage) {
  const RankHost host{"lab", "node01", "fd00::1", 400.0};
  auto back = unpack_rank_host(pack_rank_host(host));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, host);
  const RankHost no_speed{"", "node02", "", std::nullopt};
  auto plain = unpack_rank_host(pack_rank_host(no_speed));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, no_speed);
  const std::string garbage = "no newlines";
  EXPECT_FALSE(unpack_rank_host(ByteSpan(reinterpret_cast<const std::byte*>(garbage.data()), garbage.size())).ok());
}

}  // namespace
}  // namespace fb
