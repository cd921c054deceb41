#include "fabric/topology.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace fb {
namespace {

std::string error_of(std::string_view text) {
  const auto parsed = parse_topology(text, "racks.topo");
  EXPECT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  return parsed.status().message();
}

TEST(Topology, ParsesHostsLeavesCommentsAndBlankLines) {
  const auto topo = parse_topology(
      "# rack 1\n"
      "host node1 leaf leafA\n"
      "\thost   node2\tleaf leafA   # second host\n"
      "\n"
      "host node3 leaf leafB\r\n"
      "leaf leafA spine spine1\n"
      "leaf leafB spine spine1");
  ASSERT_TRUE(topo.ok()) << topo.status().to_string();
  EXPECT_EQ(topo->leaf_of_host.size(), 3u);
  EXPECT_EQ(topo->leaf_of("node2"), "leafA");
  EXPECT_EQ(topo->leaf_of("node3"), "leafB");
  EXPECT_EQ(topo->spine_of("node1"), "spine1");
  EXPECT_EQ(topo->leaf_of("elsewhere"), "");
  EXPECT_EQ(topo->spine_of("elsewhere"), "");
}

TEST(Topology, EmptyAndCommentOnlyFilesAreEmptyTopologies) {
  EXPECT_TRUE(parse_topology("")->leaf_of_host.empty());
  EXPECT_TRUE(parse_topology("# nothing yet\n\n   \n")->leaf_of_host.empty());
}

TEST(Topology, LeafWithoutSpineLineHasNoSpine) {
  const auto topo = parse_topology("host a leaf l1\n");
  ASSERT_TRUE(topo.ok());
  EXPECT_EQ(topo->spine_of("a"), "");
}

TEST(Topology, ErrorsNameTheLineAndWhatWasWrong) {
  EXPECT_EQ(error_of("host a leaf l1\nswitch s1 spine x\n"),
            "racks.topo:2: unknown statement 'switch' (expected 'host <host> leaf <leaf>' or "
            "'leaf <leaf> spine <spine>')");
  EXPECT_EQ(error_of("# header\nhost a leaf\n"),
            "racks.topo:2: expected 'host <host> leaf <leaf>', got 3 words");
  EXPECT_EQ(error_of("leaf l1 spine s1 extra\n"),
            "racks.topo:1: expected 'leaf <leaf> spine <spine>', got 5 words");
  EXPECT_EQ(error_of("host a spine s1\n"), "racks.topo:1: expected 'leaf' after 'a', got 'spine'");
  EXPECT_EQ(error_of("\nhost a leaf l1\nhost b leaf l1\nhost a leaf l2\n"),
            "racks.topo:4: host 'a' already declared on line 2");
  EXPECT_EQ(error_of("leaf l1 spine s1\nleaf l1 spine s2\n"),
            "racks.topo:2: leaf 'l1' already declared on line 1");
  // Keywords are case-sensitive, like the names.
  EXPECT_EQ(error_of("Host a leaf l1\n").rfind("racks.topo:1: unknown statement 'Host'", 0), 0u);
}

TEST(Topology, LoadsFilesAndNamesTheMissingOne) {
  const std::string path = ::testing::TempDir() + "fabric_topology_test.topo";
  {
    std::ofstream out(path);
    out << "host a leaf l1\nhost b leaf\n";
  }
  const auto bad = load_topology(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), path + ":2: expected 'host <host> leaf <leaf>', got 3 words");
  {
    std::ofstream out(path);
    out << "host a leaf l1\n";
  }
  const auto good = load_topology(path);
  ASSERT_TRUE(good.ok()) << good.status().to_string();
  EXPECT_EQ(good->leaf_of("a"), "l1");
  std::remove(path.c_str());

  const auto missing = load_topology(path + ".absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace fb
