#include "fabricbench/collectives/datatype.h"

#include <gtest/gtest.h>

namespace fb {
namespace {

TEST(DataType, NamesParseBack) {
  for (DataType type : kAllDataTypes) {
    auto parsed = parse_data_type(to_string(type));
    ASSERT_TRUE(parsed.ok()) << to_string(type);
    EXPECT_EQ(parsed.value(), type);
  }
  EXPECT_EQ(to_string(DataType::kFloat32), "fp32");
  EXPECT_EQ(to_string(DataType::kFloat64), "fp64");
  EXPECT_EQ(to_string(DataType::kFloat16), "fp16");
  EXPECT_EQ(to_string(DataType::kBFloat16), "bf16");
  EXPECT_EQ(to_string(DataType::kInt32), "int32");
}

TEST(DataType, ElementSizes) {
  EXPECT_EQ(element_size(DataType::kFloat32), 4u);
  EXPECT_EQ(element_size(DataType::kFloat64), 8u);
  EXPECT_EQ(element_size(DataType::kFloat16), 2u);
  EXPECT_EQ(element_size(DataType::kBFloat16), 2u);
  EXPECT_EQ(element_size(DataType::kInt32), 4u);
  EXPECT_FALSE(is_valid(static_cast<DataType>(17)));
}

TEST(DataType, UnknownNameListsTheValidOnes) {
  auto parsed = parse_data_type("float");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().to_string(), "unknown data type 'float' (use fp32, fp64, fp16, bf16, int32)");
  EXPECT_FALSE(parse_data_type("FP32").ok());
  EXPECT_FALSE(parse_data_type("").ok());
}

TEST(ReduceOp, NamesParseBack) {
  for (ReduceOp op : kAllReduceOps) EXPECT_EQ(parse_reduce_op(to_string(op)).value(), op);
  EXPECT_EQ(to_string(ReduceOp::kSum), "sum");
  EXPECT_EQ(to_string(ReduceOp::kMax), "max");
  EXPECT_EQ(to_string(ReduceOp::kMin), "min");
  auto parsed = parse_reduce_op("prod");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().to_string(), "unknown reduce op 'prod' (use sum, max, min)");
}

}  // namespace
}  // namespace fb
