#include "fabricbench/transport/registry.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "fabricbench_build_config.h"

namespace fb {

TransportRegistry& TransportRegistry::instance() {
  static TransportRegistry registry;
  return registry;
}

bool TransportRegistry::add(TransportInfo info) {
  transports_.push_back(std::make_unique<TransportInfo>(std::move(info)));
  return true;
}

const TransportInfo* TransportRegistry::find(std::string_view name) const {
  for (const auto& t : transports_)
    if (t->name == name) return t.get();
  return nullptr;
}

std::vector<const TransportInfo*> TransportRegistry::all() const {
  std::vector<const TransportInfo*> out;
  for (const auto& t : transports_) out.push_back(t.get());
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name < b->name; });
  return out;
}

std::vector<std::pair<std::string, std::string>> TransportRegistry::not_built() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& entry : kTransportsNotBuilt)
    if (entry.name) out.emplace_back(entry.name, entry.reason);
  return out;
}

namespace {
struct StagerTable {
  std::mutex mutex;
  std::map<MemoryKind, ContextStager> by_kind;
};
StagerTable& stagers() {
  static StagerTable table;
  return table;
}
}  // namespace

void register_context_stager(MemoryKind memory, ContextStager stager) {
  std::lock_guard lock(stagers().mutex);
  stagers().by_kind[memory] = stager;
}

Expected<std::unique_ptr<Context>> stage_context(std::unique_ptr<Context> inner, MemoryKind memory) {
  ContextStager stager = nullptr;
  {
    std::lock_guard lock(stagers().mutex);
    const auto found = stagers().by_kind.find(memory);
    if (found != stagers().by_kind.end()) stager = found->second;
  }
  if (!stager)
    return Status::error(StatusCode::kUnsupported,
                         "no staged path for " + std::string(to_string(memory)) +
                             " memory in this build (it comes with the CUDA part)",
                         FB_HERE);
  return stager(std::move(inner));
}

Expected<std::unique_ptr<Context>> open_transport(std::string_view name, Bootstrap& bootstrap,
                                                  const TransportOptions& options) {
  const TransportInfo* info = TransportRegistry::instance().find(name);
  if (!info) {
    std::string known;
    for (const auto* t : TransportRegistry::instance().all()) known += (known.empty() ? "" : ", ") + t->name;
    std::string message = "unknown transport '" + std::string(name) + "' (built in: " + known + ")";
    for (const auto& [missing, reason] : TransportRegistry::not_built())
      if (missing == name) message = "transport '" + missing + "' is not built in: " + reason;
    return Status::error(StatusCode::kInvalidArgument, message + "; see 'fabricbench list'", FB_HERE);
  }
  if (Status usable = info->probe(); !usable.ok())
    return usable.with_context("transport '" + info->name + "' is not usable on this host");
  return info->open(bootstrap, options);
}

}  // namespace fb
