// Where hosts sit in a two-level fabric, so outlier analysis can blame a shared uplink rather
// than every host behind it.
//
// File format (one statement per line, words separated by spaces or tabs):
//
//   # a comment; '#' also starts a comment after a statement
//   host <host> leaf <leaf>     the host's NIC is cabled to that leaf switch
//   leaf <leaf> spine <spine>   the leaf's uplink goes to that spine
//
// Names are the host labels fabricbench reports (hostname or --label). A host is declared
// once, a leaf's spine once; a leaf needs no `leaf` line if its spine is unknown, and hosts the
// file does not name are simply left out of uplink attribution.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "fabricbench/transport/status.h"

namespace fb {

struct Topology {
  std::map<std::string, std::string> leaf_of_host;
  std::map<std::string, std::string> spine_of_leaf;

  // Empty when unknown.
  std::string leaf_of(std::string_view host) const;
  std::string spine_of(std::string_view host) const;
};

// `source` names the text in errors ("racks.topo:7: ..."), which carry the line number.
Expected<Topology> parse_topology(std::string_view text, std::string_view source = "topology");
Expected<Topology> load_topology(const std::string& path);

}  // namespace fb
