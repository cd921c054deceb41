// Element types and reduction operators of the collectives, with the names used on the command
// line and in results (the same short names as nccl-tests).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "fabricbench/transport/status.h"

namespace fb {

enum class DataType { kFloat32, kFloat64, kFloat16, kBFloat16, kInt32 };
enum class ReduceOp { kSum, kMax, kMin };

inline constexpr std::array kAllDataTypes{DataType::kFloat32, DataType::kFloat64, DataType::kFloat16,
                                          DataType::kBFloat16, DataType::kInt32};
inline constexpr std::array kAllReduceOps{ReduceOp::kSum, ReduceOp::kMax, ReduceOp::kMin};

std::string_view to_string(DataType type);  // "fp32", "fp64", "fp16", "bf16", "int32"
std::string_view to_string(ReduceOp op);    // "sum", "max", "min"
Expected<DataType> parse_data_type(std::string_view text);
Expected<ReduceOp> parse_reduce_op(std::string_view text);

// Bytes per element; 0 for a value outside the enum.
constexpr size_t element_size(DataType type) {
  switch (type) {
    case DataType::kFloat64: return 8;
    case DataType::kFloat32:
    case DataType::kInt32: return 4;
    case DataType::kFloat16:
    case DataType::kBFloat16: return 2;
  }
  return 0;
}

// False for a value cast from an integer outside the enum.
constexpr bool is_valid(DataType type) { return element_size(type) != 0; }
constexpr bool is_valid(ReduceOp op) {
  return op == ReduceOp::kSum || op == ReduceOp::kMax || op == ReduceOp::kMin;
}

}  // namespace fb
