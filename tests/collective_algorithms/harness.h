// Ranks as threads for the collective algorithm tests: opens a registered transport on one
// thread per rank (one ThreadGroup per job), runs a body on each, closes every context.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "fabricbench/transport/registry.h"
#include "fabricbench/transport/transport.h"

namespace fb::collective_tests {

// Long enough for a loaded 2-core machine, short enough that a lost message fails the test
// well inside ctest's timeout.
inline constexpr std::chrono::milliseconds kTimeout{20'000};

struct RankEnv {
  Context& context;
  Bootstrap& bootstrap;
  int rank() const { return bootstrap.rank(); }
  int size() const { return bootstrap.size(); }
};

using RankBody = std::function<Status(RankEnv&)>;

// Every rank's result, indexed by rank.
std::vector<Status> run_ranks(const std::string& transport, int ranks, const RankBody& body,
                              TransportOptions options = {});

// Why `transport` cannot run here (not built, or its probe fails), or an empty string.
std::string unusable_reason(const std::string& transport);

}  // namespace fb::collective_tests
