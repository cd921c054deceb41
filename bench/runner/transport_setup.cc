#include "runner/transport_setup.h"

#include <algorithm>

#include "fabricbench/transport/registry.h"

namespace fb {
namespace {

bool moves_itself(const TransportInfo& info, const Context& context, MemoryKind memory) {
  const auto& kinds = info.capabilities.memory;
  if (std::find(kinds.begin(), kinds.end(), memory) != kinds.end()) return true;
  // Pinned host memory is host memory to a transport.
  if (memory == MemoryKind::kCudaPinned)
    return std::find(kinds.begin(), kinds.end(), MemoryKind::kHost) != kinds.end();
  // A transport that learns at run time what its library can move (UCX built with CUDA).
  if (memory == MemoryKind::kCudaDevice) {
    const auto described = context.describe();
    const auto types = described.find("memory_types");
    return types != described.end() && ("," + types->second + ",").find(",cuda,") != std::string::npos;
  }
  return false;
}

}  // namespace

bool is_unsupported_here(const Status& status) {
  return status.code() == StatusCode::kUnsupported || status.code() == StatusCode::kUnavailable;
}

Expected<OpenedTransport> open_for_memory(const std::string& transport, MemoryKind memory, Bootstrap& bootstrap,
                                          const TransportOptions& options) {
  OpenedTransport opened;
  FB_TRY_ASSIGN(opened.context, open_transport(transport, bootstrap, options));
  if (memory == MemoryKind::kHost) return opened;
  const TransportInfo* info = TransportRegistry::instance().find(transport);
  if (moves_itself(*info, *opened.context, memory)) {
    if (memory == MemoryKind::kCudaDevice) opened.data_path = "gpu-direct";
    return opened;
  }
  auto staged = stage_context(std::move(opened.context), memory);
  if (!staged.ok()) {
    // The stager hands the context back only on success; reopen is not possible (collective),
    // so a failed stager leaves the run without a context: report why and skip.
    opened.unsupported = "transport '" + transport + "' cannot move " + std::string(to_string(memory)) +
                         " memory, and the staged path is not available: " + staged.status().message();
    return opened;
  }
  opened.context = std::move(staged.value());
  opened.data_path = "staged";
  return opened;
}

Expected<std::string> agree_on_skip(Bootstrap& bootstrap, const std::string& mine) {
  FB_TRY_ASSIGN(auto all, bootstrap.allgather(ByteSpan(reinterpret_cast<const std::byte*>(mine.data()), mine.size())));
  for (size_t rank = 0; rank < all.size(); ++rank) {
    if (all[rank].empty()) continue;
    const std::string reason(reinterpret_cast<const char*>(all[rank].data()), all[rank].size());
    // Name the rank only when the ranks disagree: then where it happened matters.
    const bool shared = std::all_of(all.begin(), all.end(), [&](const Bytes& b) { return b == all[rank]; });
    return shared ? reason : "rank " + std::to_string(rank) + ": " + reason;
  }
  return std::string();
}

}  // namespace fb
