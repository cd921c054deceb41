// The results model: measurement fills these plain structs; reporters (console table, JSON
// Lines stream, final JSON document) render them. Nothing here formats. Equality is field by
// field, for tests and for tools that match records across runs (NaN != NaN, as for doubles).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fb {

struct LatencySummary {  // microseconds
  double min = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
  bool operator==(const LatencySummary&) const = default;
};

struct Bandwidth {
  double gbytes_per_s = 0;  // 1e9 bytes/s
  double gbits_per_s = 0;
  bool operator==(const Bandwidth&) const = default;
};

enum class RecordStatus { kOk, kSkipped, kFailed };

struct RankSummary {
  int rank = 0;
  std::string host;
  std::string role;  // "initiator", "responder"
  int peer = -1;
  uint64_t iterations = 0;
  double elapsed_s = 0;
  LatencySummary latency_us;
  Bandwidth bandwidth;
  double msg_rate = 0;
  bool operator==(const RankSummary&) const = default;
};

// What was measured: identifies a record so later tools can match it across runs.
struct RecordIdentity {
  std::string benchmark;  // "p2p"
  std::string test;       // "latency", "bw", "bibw", "msgrate"
  std::string op;         // "send", "put", "get"
  std::string transport;
  std::map<std::string, std::string> transport_options;  // settings + UCX_* environment
  std::string memory = "host";
  int ranks = 0;
  uint64_t bytes = 0;
  // Later: dtype, reduce op, algorithm. Present only when set.
  std::optional<std::string> dtype;
  std::optional<std::string> reduce_op;
  std::optional<std::string> algorithm;
  // Fabric sweeps (since 1.4): the host pair measured, by host name (hostname or --label).
  std::optional<std::string> from_host;
  std::optional<std::string> to_host;
  bool operator==(const RecordIdentity&) const = default;
};

// nccl-tests' view of a collective run (only on collective records).
struct CollectiveResult {
  uint64_t count = 0;            // elements of the whole buffer actually used (after rounding)
  uint64_t bytes_requested = 0;  // the size asked for; bytes moved are count x element size
  double time_us = 0;            // mean time per iteration of the slowest rank
  double algbw_gbytes_per_s = 0;
  double busbw_gbytes_per_s = 0;
  bool checked = false;          // false with --check off
  uint64_t wrong = 0;            // elements differing from the exact result, over all ranks
  int slowest_rank = 0;
  // Runs on device memory (since 1.3): the same rank's mean device time per iteration, from
  // events on the GPU's clock around the timed iterations; unset where there is no device clock.
  std::optional<double> device_time_us;

  bool operator==(const CollectiveResult&) const = default;
};

// Soak (since 1.4): a time-bounded run cut into intervals, so a link that drops out for a
// second is visible even when the average looks healthy. Built from the first rank pair's
// samples (for bibw: the initiator's direction).
struct IntervalSummary {
  double start_s = 0;  // from the start of the timed part
  double duration_s = 0;
  uint64_t samples = 0;
  Bandwidth bandwidth;       // bytes of the samples / their time
  LatencySummary latency_us; // over the interval's samples
  bool low = false;          // below the soak's threshold
  bool operator==(const IntervalSummary&) const = default;
};

struct SoakSummary {
  double interval_s = 0;
  double low_fraction = 0;  // low: bandwidth < fraction x median, or latency p50 > median / fraction
  std::string metric;       // "bandwidth" or "latency_p50"
  std::vector<IntervalSummary> intervals;
  int worst = -1;           // index into intervals
  int low_count = 0;
  bool operator==(const SoakSummary&) const = default;
};

// Incast (since 1.4): fan_in senders stream into one receiver at once.
struct IncastResult {
  int fan_in = 0;
  std::string receiver;                  // host name
  std::vector<std::string> senders;      // host names, in the order of per_sender
  std::vector<Bandwidth> per_sender;     // each sender's share of the receiver
  Bandwidth aggregate;                   // what the receiver took in
  double jain_index = 0;                 // fairness of per_sender: 1 = equal shares
  LatencySummary completion_us;          // one flow = one sender's burst in one repetition
  uint64_t flows = 0;
  bool operator==(const IncastResult&) const = default;
};

// Congestion impact (since 1.4), as GPCNET defines it: a victim pair measured alone and again
// while the other hosts run a load; the factor is loaded / isolated (latency), isolated /
// loaded (bandwidth): 1 means the load did not hurt the victim.
struct CongestionResult {
  std::string victim_from, victim_to;
  std::string load;  // "incast"
  double isolated_latency_us = 0, loaded_latency_us = 0;  // p50
  double isolated_gbits = 0, loaded_gbits = 0;
  double latency_factor = 0;
  double bandwidth_factor = 0;
  bool operator==(const CongestionResult&) const = default;
};

struct Record {
  RecordIdentity id;
  RecordStatus status = RecordStatus::kOk;
  std::string reason;  // why skipped, or the error when failed

  uint64_t iterations = 0;
  uint64_t warmup = 0;
  int window = 0;  // messages outstanding (bw tests)
  LatencySummary latency_us;
  Bandwidth bandwidth;
  double msg_rate = 0;  // messages per second

  // What one sample means ("one-way latency (RTT/2)", "window of 64 messages").
  std::string sample_unit;
  std::vector<double> samples_us;  // first samples, in order
  uint64_t samples_total = 0;      // how many were measured
  uint64_t samples_cap = 0;        // how many at most are kept

  std::vector<RankSummary> per_rank;
  std::optional<CollectiveResult> collective;
  std::optional<SoakSummary> soak;
  std::optional<IncastResult> incast;
  std::optional<CongestionResult> congestion;
  bool operator==(const Record&) const = default;
};

struct LibraryVersion {
  std::string name;
  std::string version;
  bool operator==(const LibraryVersion&) const = default;
};

// One GPU as nvidia-smi names it. A value it could not read ("[N/A]") stays empty or zero.
struct GpuInfo {
  int index = 0;  // nvidia-smi's (PCI order); CUDA numbers GPUs its own way unless told otherwise
  std::string name;            // "NVIDIA H100 80GB HBM3"
  std::string pci_bus_id;      // "00000000:19:00.0", as lspci and sysfs name the device
  uint64_t memory_bytes = 0;
  std::string driver_version;  // "550.54.15"
  std::string uuid;            // "GPU-<uuid>": tells a swapped card from the one it replaced
  bool operator==(const GpuInfo&) const = default;
};

struct HostInfo {
  std::string hostname;
  std::string kernel;
  std::string cpu_model;
  int cores = 0;
  uint64_t memory_bytes = 0;
  std::vector<LibraryVersion> libraries;
  // Empty on hosts without NVIDIA GPUs (or without a working nvidia-smi).
  std::vector<GpuInfo> gpus;
  // The matrix of `nvidia-smi topo -m` (NVLink/PCIe paths between GPUs and NICs, CPU and NUMA
  // affinity, the NIC legend), as printed, without its fixed legend of link codes.
  std::string gpu_topology;
  bool operator==(const HostInfo&) const = default;
};

// A fabric sweep's verdict (since 1.4): the host matrix, and which hosts or links it blames.
struct FabricEvidence {
  std::string from, to;
  double measured_gbits = 0;
  double expected_gbits = 0;  // the link rate x efficiency; NaN without one
  double median_gbits = 0;    // the fabric's reference
  std::optional<double> retest_gbits;
  bool operator==(const FabricEvidence&) const = default;
};

struct FabricSuspect {
  std::string kind;     // "host-link", "path", "leaf-uplink", "spine"
  std::string subject;  // host, leaf or spine name; "a<->b" for a path
  double confidence = 0;
  std::vector<FabricEvidence> evidence;
  bool operator==(const FabricSuspect&) const = default;
};

struct FabricAnalysis {
  double median_gbits = 0;
  double deviation_gbits = 0;
  double slow_below_gbits = 0;
  std::optional<double> expected_gbits;
  double efficiency = 0;
  int measured_pairs = 0;
  int slow_pairs = 0;
  bool operator==(const FabricAnalysis&) const = default;
};

struct FabricSummary {
  std::string test;     // "bw", "bibw", "latency"
  uint64_t bytes = 0;   // the size the matrix and analysis use (the largest measured)
  std::string metric;   // "gbits_per_s" or "latency_p50_us"
  std::vector<std::string> hosts;
  std::vector<std::vector<double>> matrix;  // [from][to]; NaN where not measured
  int rounds = 0;
  double elapsed_s = 0;            // the whole sweep, barriers included
  std::optional<FabricAnalysis> analysis;  // bandwidth tests
  std::string analysis_note;       // why there is no analysis, when there is none
  bool retested = false;           // suspects' pairs were measured twice
  std::vector<FabricSuspect> suspects;  // confirmed
  std::vector<FabricSuspect> cleared;   // slow once, healthy on the retest
  bool operator==(const FabricSummary&) const = default;
};

// Document-level metadata; records are appended as they are measured.
struct RunInfo {
  std::string tool_version;
  std::string git_sha;
  std::vector<std::string> command_line;
  std::string start_time;  // ISO 8601 UTC
  std::string end_time;
  std::string benchmark;
  std::map<std::string, std::string> plan;  // the options the run used, as text
  std::vector<HostInfo> hosts;
  std::string outcome = "ok";  // "ok", "failed" (some record failed or the run stopped)
  std::string error;           // why the run stopped early, if it did
  std::optional<FabricSummary> fabric;  // pairs runs
  bool operator==(const RunInfo&) const = default;
};

}  // namespace fb
