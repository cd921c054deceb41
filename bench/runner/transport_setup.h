// Opening the benchmark's transport for the plan's memory kind, and agreeing across ranks on
// whether a run can go ahead at all (a host without a GPU skips a --memory cuda run with the
// reason instead of failing it).
#pragma once

#include <memory>
#include <string>

#include "fabricbench/transport/transport.h"

namespace fb {

struct OpenedTransport {
  std::unique_ptr<Context> context;
  // How device memory travels: "gpu-direct" (the transport moves it) or "staged" (through
  // pinned host memory); empty for memory the transport takes as host memory.
  std::string data_path;
  // Why this memory kind cannot run over the transport here, or empty.
  std::string unsupported;
};

// Opens `transport` (collectively) and, for device memory the transport cannot move itself,
// wraps it in the staged path. Only opening the transport can fail; a memory kind that cannot
// run is reported in `unsupported`.
Expected<OpenedTransport> open_for_memory(const std::string& transport, MemoryKind memory, Bootstrap& bootstrap,
                                          const TransportOptions& options);

// Every rank gives its reason not to run (empty if none); all get the first one, prefixed with
// its rank, or empty when every rank can run. Keeps ranks from splitting into runners and
// skippers, which would leave the runners waiting.
Expected<std::string> agree_on_skip(Bootstrap& bootstrap, const std::string& mine);

// Is this a reason to skip (no such hardware or support here) rather than a failure?
bool is_unsupported_here(const Status& status);

}  // namespace fb
