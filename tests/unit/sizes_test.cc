#include "cli/sizes.h"

#include <gtest/gtest.h>

namespace fb {
namespace {

std::vector<uint64_t> sizes(std::string_view spec) {
  auto parsed = parse_size_spec(spec);
  EXPECT_TRUE(parsed.ok()) << spec << ": " << parsed.status().to_string();
  return parsed.ok() ? parsed.value() : std::vector<uint64_t>{};
}

TEST(ParseSize, SuffixesAreBinary) {
  EXPECT_EQ(parse_size("0").value(), 0u);
  EXPECT_EQ(parse_size("8").value(), 8u);
  EXPECT_EQ(parse_size("1K").value(), 1024u);
  EXPECT_EQ(parse_size("1k").value(), 1024u);
  EXPECT_EQ(parse_size("4KB").value(), 4096u);
  EXPECT_EQ(parse_size("4KiB").value(), 4096u);
  EXPECT_EQ(parse_size("1M").value(), 1048576u);
  EXPECT_EQ(parse_size("2G").value(), 2147483648u);
  EXPECT_EQ(parse_size(" 16 ").value(), 16u);
}

TEST(ParseSize, RejectsGarbageWithExamples) {
  for (const char* bad : {"", "K", "1.5M", "-8", "8X", "1MM", "99999999999999999999"}) {
    auto parsed = parse_size(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().to_string().find("examples"), std::string::npos);
  }
  EXPECT_FALSE(parse_size("17179869184G").ok());  // overflows 64 bits
}

TEST(ParseSizeSpec, Ranges) {
  EXPECT_EQ(sizes("8:64:x2"), (std::vector<uint64_t>{8, 16, 32, 64}));
  EXPECT_EQ(sizes("8:100:x2"), (std::vector<uint64_t>{8, 16, 32, 64}));
  EXPECT_EQ(sizes("1K:4K:x4"), (std::vector<uint64_t>{1024, 4096}));
  EXPECT_EQ(sizes("0:12:+4"), (std::vector<uint64_t>{0, 4, 8, 12}));
  EXPECT_EQ(sizes("8:8"), (std::vector<uint64_t>{8}));
  EXPECT_EQ(sizes("8:32"), (std::vector<uint64_t>{8, 16, 32}));
  EXPECT_EQ(sizes("8:1M:x2").size(), 18u);
}

TEST(ParseSizeSpec, Lists) {
  EXPECT_EQ(sizes("8,64,1K"), (std::vector<uint64_t>{8, 64, 1024}));
  EXPECT_EQ(sizes("4096"), (std::vector<uint64_t>{4096}));
}

TEST(ParseSizeSpec, BadRanges) {
  for (const char* bad : {"64:8", "8:64:x1", "8:64:y2", "0:64:x2", "8:64:+0", "1:2:3:4", "8:", "8,,16"})
    EXPECT_FALSE(parse_size_spec(bad).ok()) << bad;
  EXPECT_FALSE(parse_size_spec("0:1G:+1").ok());  // too many sizes
}

TEST(ExpandSizes, StopsBeforeOverflow) {
  auto s = expand_sizes({.begin = 1ull << 62, .end = UINT64_MAX, .factor = 4});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s.value().size(), 1u);
}

TEST(FormatSize, ShortestBinaryForm) {
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(8), "8");
  EXPECT_EQ(format_size(1024), "1K");
  EXPECT_EQ(format_size(1536), "1536");
  EXPECT_EQ(format_size(1 << 20), "1M");
  EXPECT_EQ(format_size(3ull << 30), "3G");
}

}  // namespace
}  // namespace fb
