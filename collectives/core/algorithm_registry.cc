#include <algorithm>
#include <string>

#include "fabricbench/collectives/algorithm.h"

namespace fb {

AlgorithmRegistry& AlgorithmRegistry::instance() {
  static AlgorithmRegistry registry;
  return registry;
}

bool AlgorithmRegistry::add(Algorithm algorithm) {
  if (find(algorithm.kind, algorithm.name) != nullptr) return false;
  algorithms_.push_back(algorithm);
  return true;
}

const Algorithm* AlgorithmRegistry::find(CollectiveKind kind, std::string_view name) const {
  for (const Algorithm& a : algorithms_)
    if (a.kind == kind && a.name == name) return &a;
  return nullptr;
}

std::vector<const Algorithm*> AlgorithmRegistry::for_kind(CollectiveKind kind) const {
  std::vector<const Algorithm*> out;
  for (const Algorithm* a : all())
    if (a->kind == kind) out.push_back(a);
  return out;
}

std::vector<const Algorithm*> AlgorithmRegistry::all() const {
  std::vector<const Algorithm*> out;
  for (const Algorithm& a : algorithms_) out.push_back(&a);
  std::sort(out.begin(), out.end(), [](const Algorithm* a, const Algorithm* b) {
    return a->kind != b->kind ? a->kind < b->kind : a->name < b->name;
  });
  return out;
}

Expected<const Algorithm*> find_algorithm(CollectiveKind kind, std::string_view name) {
  if (const Algorithm* a = AlgorithmRegistry::instance().find(kind, name)) return a;
  std::string known;
  for (const Algorithm* a : AlgorithmRegistry::instance().for_kind(kind))
    known += (known.empty() ? "" : ", ") + std::string(a->name);
  return Status::error(StatusCode::kInvalidArgument,
                       "no " + std::string(to_string(kind)) + " algorithm '" + std::string(name) +
                           "' (known: " + (known.empty() ? "none" : known) + ")",
                       FB_HERE);
}

}  // namespace fb
