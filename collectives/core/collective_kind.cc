#include <string>

#include "fabricbench/collectives/algorithm.h"

namespace fb {

std::string_view to_string(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::kAllReduce: return "allreduce";
    case CollectiveKind::kAllGather: return "allgather";
    case CollectiveKind::kReduceScatter: return "reducescatter";
    case CollectiveKind::kAllToAll: return "alltoall";
  }
  return "unknown";
}

Expected<CollectiveKind> parse_collective_kind(std::string_view text) {
  for (CollectiveKind kind : kAllCollectiveKinds)
    if (to_string(kind) == text) return kind;
  return Status::error(StatusCode::kInvalidArgument,
                       "unknown collective '" + std::string(text) +
                           "' (known: allreduce, allgather, reducescatter, alltoall)",
                       FB_HERE);
}

size_t CollectiveShape::input_count() const {
  return kind == CollectiveKind::kAllGather ? block() : count;
}

size_t CollectiveShape::output_count() const {
  return kind == CollectiveKind::kReduceScatter ? block() : count;
}

}  // namespace fb
