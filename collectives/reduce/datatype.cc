#include "fabricbench/collectives/datatype.h"

#include <string>

namespace fb {
namespace {

template <typename Enum, size_t N>
Expected<Enum> parse_name(std::string_view text, const std::array<Enum, N>& all,
                          std::string_view what) {
  std::string valid;
  for (Enum value : all) {
    if (text == to_string(value)) return value;
    valid += (valid.empty() ? "" : ", ") + std::string(to_string(value));
  }
  return Status::error(StatusCode::kInvalidArgument,
                       "unknown " + std::string(what) + " '" + std::string(text) + "' (use " + valid + ")",
                       FB_HERE);
}

}  // namespace

std::string_view to_string(DataType type) {
  switch (type) {
    case DataType::kFloat32: return "fp32";
    case DataType::kFloat64: return "fp64";
    case DataType::kFloat16: return "fp16";
    case DataType::kBFloat16: return "bf16";
    case DataType::kInt32: return "int32";
  }
  return "unknown";
}

std::string_view to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kMax: return "max";
    case ReduceOp::kMin: return "min";
  }
  return "unknown";
}

Expected<DataType> parse_data_type(std::string_view text) {
  return parse_name(text, kAllDataTypes, "data type");
}

Expected<ReduceOp> parse_reduce_op(std::string_view text) {
  return parse_name(text, kAllReduceOps, "reduce op");
}

}  // namespace fb
