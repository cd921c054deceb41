// What a result records about the ucx transport: the library version, the UCX_* environment
// that tuned it, and which UCX transports ("lanes") and protocol thresholds an endpoint chose.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "ucx_context.h"

namespace fb::ucx {
namespace {

void add_environment(std::map<std::string, std::string>& out) {
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const size_t equals = text.find('=');
    if (!text.starts_with("UCX_") || equals == std::string_view::npos) continue;
    out["env." + std::string(text.substr(0, equals))] = std::string(text.substr(equals + 1));
  }
}

std::string endpoint_info_text(ucp_ep_h ep) {
  char* text = nullptr;
  size_t size = 0;
  FILE* stream = open_memstream(&text, &size);
  if (stream == nullptr) return {};
  ucp_ep_print_info(ep, stream);
  std::fclose(stream);
  std::string out(text, size);
  std::free(text);
  return out;
}

// "#  lane[0]:  3:sysv/memory.0 md[2]  -> md[2]/sysv/sysdev[255] am am_bw#0" -> "sysv/memory.0[am am_bw]"
std::string lane_summary(const std::string& line) {
  std::istringstream words(line);
  std::string word, resource, uses;
  bool after_target = false;
  int index = 0;
  while (words >> word) {
    if (index++ == 2) resource = word.substr(word.find(':') + 1);
    if (after_target) {
      if (word.find('/') != std::string::npos) continue;  // the remote resource
      if (!uses.empty()) uses += ' ';
      uses += word.substr(0, word.find('#'));
    }
    if (word == "->") after_target = true;
  }
  return uses.empty() ? resource : resource + "[" + uses + "]";
}

// Which UCX transports serve this endpoint, and the tag protocol thresholds: what a reader
// needs to explain a latency or bandwidth step.
void add_endpoint_info(std::map<std::string, std::string>& out, int peer, ucp_ep_h ep) {
  std::istringstream lines(endpoint_info_text(ep));
  std::string line, lanes;
  while (std::getline(lines, line)) {
    if (line.find("lane[") != std::string::npos) {
      if (!lanes.empty()) lanes += ", ";
      lanes += lane_summary(line);
    } else if (const size_t at = line.find("tag_send: "); at != std::string::npos) {
      out["endpoint.tag_send"] = line.substr(at + 10);
    }
  }
  out["endpoint.peer"] = std::to_string(peer);
  out["endpoint.lanes"] = lanes;
}

// The memory types this UCX build can move ("host,cuda,..."): Debian's UCX has no CUDA support,
// so device memory over it goes through fabricbench's staged path.
std::string memory_types(ucp_context_h context) {
  ucp_context_attr_t attr{};
  attr.field_mask = UCP_ATTR_FIELD_MEMORY_TYPES;
  if (ucp_context_query(context, &attr) != UCS_OK) return {};
  std::string out;
  for (int type = 0; type < UCS_MEMORY_TYPE_LAST; ++type) {
    if (!(attr.memory_types & UCS_BIT(type))) continue;
    if (!out.empty()) out += ',';
    out += ucs_memory_type_names[type];
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> UcxContext::describe() const {
  std::map<std::string, std::string> out{
      {"version", ucp_get_version_string()},
      {"progress", to_string(options_.progress)},
  };
  if (std::string types = memory_types(state_->context.get()); !types.empty()) out["memory_types"] = types;
  add_environment(out);
  for (const auto& [key, value] : options_.settings) out["setting." + key] = value;
  for (const auto& endpoint : endpoints_) {
    if (!endpoint || !endpoint->handle() || endpoint->peer() == rank()) continue;
    add_endpoint_info(out, endpoint->peer(), endpoint->handle());
    break;  // one peer is representative; every endpoint of a rank shares the selection logic
  }
  return out;
}

}  // namespace fb::ucx
