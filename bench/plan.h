// What to run, built by the CLI and executed by the runner. No configuration lives in globals.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bootstrap/bootstrap_config.h"
#include "fabricbench/collectives/algorithm.h"
#include "fabricbench/collectives/datatype.h"
#include "fabricbench/transport/memory.h"
#include "fabricbench/transport/transport.h"

namespace fb {

enum class BindPolicy { kCore, kNuma, kNone };

struct CommonPlan {
  std::string transport = "ucx";
  int np = 2;  // local ranks with the local bootstrap
  BindPolicy bind = BindPolicy::kCore;
  std::vector<uint64_t> sizes;
  std::optional<uint64_t> iterations;  // unset: the benchmark's default per test
  uint64_t warmup = 0;
  std::optional<uint64_t> warmup_override;
  double duration_s = 0;  // > 0: time-bounded instead of count-bounded
  std::optional<std::string> json_path;
  bool quiet = false;
  MemoryKind memory = MemoryKind::kHost;
  std::optional<int> device;  // unset: one GPU per local rank, round-robin
  bool hugepages = false;
  TransportOptions transport_options;
  // transport_options.progress is decided per rank: poll, unless this host runs more ranks
  // than it has cores, where spinning ranks would starve each other: yield (see binding.h).
  bool progress_auto = true;
  BootstrapFlags bootstrap;
  std::vector<std::string> command_line;
};

enum class P2pTest { kLatency, kBw, kBibw, kMsgrate };
enum class P2pOp { kSend, kPut, kGet };

struct P2pPlan {
  CommonPlan common;
  std::vector<P2pTest> tests{P2pTest::kLatency, P2pTest::kBw};
  P2pOp op = P2pOp::kSend;
  int window = 64;
};

// One input element of one rank changed so that the result is provably wrong there: for
// testing the checker end to end (`--inject-corruption RANK:INDEX`).
struct InjectedCorruption {
  int rank = 0;
  size_t index = 0;  // into that rank's input
};

struct CollectivePlan {
  CommonPlan common;
  CollectiveKind kind = CollectiveKind::kAllReduce;
  std::vector<DataType> dtypes{DataType::kFloat32};
  std::vector<ReduceOp> ops{ReduceOp::kSum};
  // Algorithm names, "auto" (chosen per size and rank count), "all" (every registered one)
  // and "mpi" (the MPI library's own collective, under mpirun/srun).
  std::vector<std::string> algorithms{"auto"};
  bool check = true;
  size_t chunk_bytes = 256 * 1024;
  std::optional<InjectedCorruption> corruption;
};

const char* to_string(P2pTest test);
const char* to_string(P2pOp op);
const char* to_string(BindPolicy bind);

}  // namespace fb
