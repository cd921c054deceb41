#include "fabric/topology.h"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

namespace fb {
namespace {

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

}  // namespace

std::string Topology::leaf_of(std::string_view host) const {
  const auto it = leaf_of_host.find(std::string(host));
  return it == leaf_of_host.end() ? std::string() : it->second;
}

std::string Topology::spine_of(std::string_view host) const {
  const auto it = spine_of_leaf.find(leaf_of(host));
  return it == spine_of_leaf.end() ? std::string() : it->second;
}

Expected<Topology> parse_topology(std::string_view text, std::string_view source) {
  Topology topology;
  std::map<std::string, int> host_line;
  std::map<std::string, int> leaf_line;
  int line_number = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const std::vector<std::string_view> words = split_words(line);
    if (words.empty()) continue;

    const std::string place = std::string(source) + ":" + std::to_string(line_number) + ": ";
    auto fail = [&](const std::string& what) {
      return Status::error(StatusCode::kInvalidArgument, place + what, FB_HERE);
    };
    const bool is_host = words[0] == "host";
    if (!is_host && words[0] != "leaf") {
      return fail("unknown statement '" + std::string(words[0]) +
                  "' (expected 'host <host> leaf <leaf>' or 'leaf <leaf> spine <spine>')");
    }
    const std::string_view link_word = is_host ? "leaf" : "spine";
    const std::string form = is_host ? "'host <host> leaf <leaf>'" : "'leaf <leaf> spine <spine>'";
    if (words.size() != 4) {
      return fail("expected " + form + ", got " + std::to_string(words.size()) + " words");
    }
    if (words[2] != link_word) {
      return fail("expected '" + std::string(link_word) + "' after '" + std::string(words[1]) +
                  "', got '" + std::string(words[2]) + "'");
    }
    const std::string name(words[1]);
    const std::string parent(words[3]);
    auto& lines = is_host ? host_line : leaf_line;
    auto& parent_of = is_host ? topology.leaf_of_host : topology.spine_of_leaf;
    if (const auto it = lines.find(name); it != lines.end()) {
      return fail(std::string(is_host ? "host '" : "leaf '") + name +
                  "' already declared on line " + std::to_string(it->second));
    }
    lines.emplace(name, line_number);
    parent_of.emplace(name, parent);
  }
  return topology;
}

Expected<Topology> load_topology(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::from_errno(errno, "open " + path, FB_HERE);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::from_errno(errno, "read " + path, FB_HERE);
  return parse_topology(text.str(), path);
}

}  // namespace fb
