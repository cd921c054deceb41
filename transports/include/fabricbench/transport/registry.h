// Transports register themselves from their own folder; nothing above knows the list.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fabricbench/transport/transport.h"

namespace fb {

struct TransportInfo {
  std::string name;
  std::string description;
  Capabilities capabilities;
  // Is this transport usable on this host? Ok, or kUnsupported/kUnavailable with the reason.
  Status (*probe)();
  Expected<std::unique_ptr<Context>> (*open)(Bootstrap& bootstrap, const TransportOptions& options);
  // Library versions to record ("ucx" -> "1.13.1").
  std::vector<std::pair<std::string, std::string>> (*library_versions)() = nullptr;
};

class TransportRegistry {
 public:
  static TransportRegistry& instance();
  bool add(TransportInfo info);
  const TransportInfo* find(std::string_view name) const;
  std::vector<const TransportInfo*> all() const;  // sorted by name
  // Names of optional transports this build left out, with why (set by CMake).
  static std::vector<std::pair<std::string, std::string>> not_built();

 private:
  std::vector<std::unique_ptr<TransportInfo>> transports_;
};

// The staged path: a context whose transport cannot move `memory` (CUDA device memory over a
// UCX built without CUDA) is wrapped so that every message is copied through pinned host
// buffers (device -> host -> transport -> device). transports/cuda registers the stager for
// its kinds; without one, stage_context is kUnsupported with the reason.
using ContextStager = Expected<std::unique_ptr<Context>> (*)(std::unique_ptr<Context> inner);
void register_context_stager(MemoryKind memory, ContextStager stager);
Expected<std::unique_ptr<Context>> stage_context(std::unique_ptr<Context> inner, MemoryKind memory);

// Opens a transport by name with a clear error for unknown or unusable names.
Expected<std::unique_ptr<Context>> open_transport(std::string_view name, Bootstrap& bootstrap,
                                                  const TransportOptions& options);

}  // namespace fb

#define FB_REGISTER_TRANSPORT(info_expr) \
  static const bool FB_CONCAT(fb_transport_registered_, __LINE__) = \
      ::fb::TransportRegistry::instance().add(info_expr)
