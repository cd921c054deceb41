#include <cstdint>
#include <string>

#include "fabricbench/collectives/algorithm.h"

namespace fb {
namespace {

bool overlap(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  if (a_bytes == 0 || b_bytes == 0) return false;
  const auto a0 = reinterpret_cast<uintptr_t>(a);
  const auto b0 = reinterpret_cast<uintptr_t>(b);
  return a0 < b0 + b_bytes && b0 < a0 + a_bytes;
}

[[gnu::cold]] Status invalid(const CollectiveShape& shape, const std::string& what) {
  return Status::error(StatusCode::kInvalidArgument,
                       std::string(to_string(shape.kind)) + " of " + std::to_string(shape.count) + " " +
                           std::string(to_string(shape.dtype)) + " elements on " +
                           std::to_string(shape.ranks) + " ranks: " + what,
                       FB_HERE);
}

[[gnu::cold]] Status too_small(const CollectiveShape& shape, const char* buffer, size_t have, size_t need) {
  return invalid(shape, std::string(buffer) + " has " + std::to_string(have) + " bytes where " +
                            std::to_string(need) + " are needed");
}

}  // namespace

Status check_invocation(const Communicator& comm, const CollectiveShape& shape,
                        const CollectiveBuffers& buffers, CollectiveKind expected, size_t scratch_bytes) {
  if (shape.kind != expected)
    return invalid(shape, "handed to a " + std::string(to_string(expected)) + " algorithm");
  if (shape.ranks != comm.size())
    return invalid(shape, "the communicator has " + std::to_string(comm.size()) + " ranks");
  if (!is_valid(shape.dtype) || !is_valid(shape.op)) return invalid(shape, "unknown data type or operator");
  if (shape.count % static_cast<size_t>(shape.ranks) != 0)
    return invalid(shape, "the count is not a multiple of the rank count (round it down)");
  const size_t in = shape.input_bytes();
  const size_t out = shape.output_bytes();
  if (buffers.input.size() < in) return too_small(shape, "the input", buffers.input.size(), in);
  if (buffers.output.size() < out) return too_small(shape, "the output", buffers.output.size(), out);
  if (buffers.scratch.size() < scratch_bytes)
    return too_small(shape, "the scratch buffer", buffers.scratch.size(), scratch_bytes);

  const std::byte* input = buffers.input.data();
  const std::byte* output = buffers.output.data();
  const size_t block_bytes = shape.block() * shape.element_bytes();
  const bool in_place =
      in > 0 && ((shape.kind == CollectiveKind::kAllReduce && input == output) ||
                 (shape.kind == CollectiveKind::kAllGather &&
                  input == output + static_cast<size_t>(comm.rank()) * block_bytes));
  if (!in_place && overlap(input, in, output, out))
    return invalid(shape, "the input and output overlap (only the documented in-place forms may)");
  if (overlap(buffers.scratch.data(), scratch_bytes, input, in) ||
      overlap(buffers.scratch.data(), scratch_bytes, output, out))
    return invalid(shape, "the scratch buffer overlaps the input or output");
  return {};
}

}  // namespace fb
