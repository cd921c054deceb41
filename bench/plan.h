// What to run, built by the CLI and executed by the runner. No configuration lives in globals.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
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

// Soak: a time-bounded run (--duration) is also summarised per interval, so an intermittent
// link shows up instead of disappearing into the average.
struct SoakPlan {
  double interval_s = 1.0;
  // An interval is "low" below this fraction of the record's median interval (bandwidth), or
  // above its inverse (latency).
  double low_fraction = 0.8;
};

struct P2pPlan {
  CommonPlan common;
  std::vector<P2pTest> tests{P2pTest::kLatency, P2pTest::kBw};
  P2pOp op = P2pOp::kSend;
  int window = 64;
  SoakPlan soak;
  bool imm = false;  // put as put_imm: the target waits for the notification
};

// What fabric sweeps (pairs, incast) share: who is which host, and what a healthy link does.
struct FabricPlan {
  // This rank's host name in results; one name, or a comma list indexed by local rank. Ranks
  // in network namespaces of one machine need it to count as different hosts.
  std::vector<std::string> labels;
  std::optional<double> expect_gbits;  // the link rate, Gbit/s
  bool expect_from_nic = false;        // the link rate is what the hosts' NICs report
  double efficiency = 0.9;             // the share of the link rate a healthy pair reaches
  std::optional<std::string> topology_path;
};

struct PairsPlan {
  P2pPlan p2p;  // exactly one test: latency, bw or bibw
  FabricPlan fabric;
  std::optional<int> sample_pairs;  // measure only this many host pairs
  uint64_t sample_seed = 1;
  // Host pairs by name ("a:b"); empty: every pair (or the sample).
  std::vector<std::pair<std::string, std::string>> pair_list;
  bool retest = true;  // measure suspects' pairs again before naming them
};

struct IncastPlan {
  P2pPlan p2p;  // test bw, op send; sizes and window for the senders
  FabricPlan fabric;
  int fan_in = 0;          // senders; 0: every other host
  std::string receiver;    // host name; empty: the first host
  bool congestion = false; // also: a victim pair alone and under the incast load
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
