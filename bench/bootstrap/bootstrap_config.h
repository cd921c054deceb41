// Which bootstrap a run uses and its parameters, from command-line flags with environment
// fallbacks (flags win), checked up front so a mistake is reported before any rank waits.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "fabricbench/transport/status.h"

namespace fb {

inline constexpr std::chrono::milliseconds kDefaultBootstrapTimeout{std::chrono::seconds(60)};

// What the command line said; unset means "not given", so the environment may fill it in.
struct BootstrapFlags {
  std::optional<std::string> bootstrap;  // --bootstrap: "local", "tcp://HOST:PORT", "mpi"
  std::optional<int> rank;               // --rank
  std::optional<int> size;               // --size
  std::optional<std::string> token;      // --token
  std::optional<std::chrono::milliseconds> timeout;
};

struct BootstrapConfig {
  std::string kind = "local";  // "local" or "tcp"
  std::string host;            // tcp: rank 0's host (IPv6 without brackets)
  uint16_t port = 0;
  int rank = -1;  // tcp only; the local launcher numbers its own ranks
  int size = -1;
  std::string token;  // tcp: must match on every rank; empty is a valid token
  std::chrono::milliseconds timeout = kDefaultBootstrapTimeout;
};

using GetenvFn = std::function<const char*(const char*)>;

// Environment fallbacks: FABRICBENCH_BOOTSTRAP, FABRICBENCH_RANK, FABRICBENCH_SIZE,
// FABRICBENCH_TOKEN (an empty variable counts as unset). Errors are kInvalidArgument and
// say what to change; "mpi" is kUnavailable until an MPI bootstrap is built in.
Expected<BootstrapConfig> resolve_bootstrap_config(const BootstrapFlags& flags,
                                                   const GetenvFn& getenv_fn);

}  // namespace fb
