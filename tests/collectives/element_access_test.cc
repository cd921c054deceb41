#include "fabricbench/collectives/element_access.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "reduce_test_util.h"

namespace fb {
namespace {

TEST(ElementAccess, SmallIntegersRoundTripInEveryType) {
  for (DataType type : kAllDataTypes) {
    testing::TypedBuffer buffer(type, 600);
    fill_values(buffer.data(), buffer.count(), type, [](size_t i) { return double(i) - 300; });
    for (size_t i = 0; i < buffer.count(); ++i) {
      if (type == DataType::kBFloat16 && std::fabs(double(i) - 300) > 256) continue;  // not exact
      ASSERT_EQ(load_value(buffer.data(), i, type), double(i) - 300) << to_string(type);
    }
    EXPECT_TRUE(buffer.guard_intact()) << to_string(type);
  }
}

TEST(ElementAccess, StoresTheTypesBitPatterns) {
  alignas(8) uint16_t half[2] = {};
  store_value(half, 1, DataType::kFloat16, 1.0);
  EXPECT_EQ(half[0], 0u);
  EXPECT_EQ(half[1], 0x3c00u);
  store_value(half, 0, DataType::kBFloat16, -2.0);
  EXPECT_EQ(half[0], 0xc000u);
  alignas(8) int32_t ints[2] = {};
  store_value(ints, 1, DataType::kInt32, -7);
  EXPECT_EQ(ints[1], -7);
  EXPECT_EQ(load_value(ints, 1, DataType::kInt32), -7.0);
}

TEST(ElementAccess, Int32SaturatesOutOfRange) {
  alignas(8) int32_t ints[3] = {};
  store_value(ints, 0, DataType::kInt32, 1e12);
  store_value(ints, 1, DataType::kInt32, -1e12);
  store_value(ints, 2, DataType::kInt32, NAN);
  EXPECT_EQ(ints[0], std::numeric_limits<int32_t>::max());
  EXPECT_EQ(ints[1], std::numeric_limits<int32_t>::min());
  EXPECT_EQ(ints[2], std::numeric_limits<int32_t>::min());
}

TEST(ElementAccess, CountWrongFindsOneCorruptedElement) {
  for (DataType type : kAllDataTypes) {
    const size_t count = 1003;
    testing::TypedBuffer buffer(type, count);
    auto value = [](size_t i) { return double(i % 200); };
    fill_values(buffer.data(), count, type, value);
    EXPECT_EQ(count_wrong(buffer.data(), count, type, value), 0u) << to_string(type);
    buffer.set(517, 201);
    EXPECT_EQ(count_wrong(buffer.data(), count, type, value), 1u) << to_string(type);
    buffer.set(count - 1, value(count - 1) + 1);
    EXPECT_EQ(count_wrong(buffer.data(), count, type, value), 2u) << to_string(type);
    EXPECT_EQ(count_wrong(buffer.data(), 0, type, value), 0u);
  }
}

TEST(ElementAccess, NaNIsAlwaysWrong) {
  for (DataType type : {DataType::kFloat32, DataType::kFloat64, DataType::kFloat16, DataType::kBFloat16}) {
    testing::TypedBuffer buffer(type, 4);
    fill_values(buffer.data(), 4, type, [](size_t) { return 1.0; });
    buffer.set(2, NAN);
    EXPECT_EQ(count_wrong(buffer.data(), 4, type, [](size_t) { return 1.0; }), 1u);
  }
}

}  // namespace
}  // namespace fb
