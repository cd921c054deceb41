#include "list_command.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "fabricbench/transport/registry.h"

namespace fb {
namespace {

std::string capability_text(const Capabilities& caps) {
  std::string text;
  auto add = [&](bool on, const char* name) {
    if (on) text.append(text.empty() ? "" : ",").append(std::string(name));
  };
  add(caps.send_recv, "send");
  add(caps.rma, "put/get");
  add(caps.event_wait, "event");
  add(caps.gpu_direct, "gpu-direct");
  add(caps.ranks_as_threads, "threads-only");
  std::string memory;
  for (MemoryKind kind : caps.memory) memory.append(memory.empty() ? "" : "|").append(to_string(kind));
  return text + " mem=" + memory;
}

}  // namespace

int run_list(const ListCommand& command) {
  nlohmann::json out = nlohmann::json::array();
  for (const TransportInfo* t : TransportRegistry::instance().all()) {
    const Status usable = t->probe();
    nlohmann::json versions = nlohmann::json::object();
    if (t->library_versions)
      for (const auto& [name, version] : t->library_versions()) versions[name] = version;
    out.push_back({{"name", t->name}, {"built", true}, {"usable", usable.ok()},
                   {"reason", usable.ok() ? "" : usable.to_string()}, {"description", t->description},
                   {"capabilities", capability_text(t->capabilities)}, {"libraries", versions}});
  }
  for (const auto& [name, reason] : TransportRegistry::not_built())
    out.push_back({{"name", name}, {"built", false}, {"usable", false}, {"reason", reason}});

  if (command.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%-10s %-7s %-36s %s\n", "transport", "usable", "capabilities", "notes");
  for (const auto& t : out) {
    const std::string note = t["usable"].get<bool>()
                                 ? t.value("description", "")
                                 : (t["built"].get<bool>() ? "" : "not built: ") + t["reason"].get<std::string>();
    std::printf("%-10s %-7s %-36s %s\n", t["name"].get<std::string>().c_str(),
                t["usable"].get<bool>() ? "yes" : "no", t.value("capabilities", "-").c_str(), note.c_str());
  }
  return 0;
}

}  // namespace fb
