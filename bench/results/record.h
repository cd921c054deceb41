// The results model: measurement fills these plain structs; reporters (console table, JSON
// Lines stream, final JSON document) render them. Nothing here formats. Equality is field by
// field, for tests and for tools that match records across runs (NaN != NaN, as for doubles).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "info/inventory.h"

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

// How one device's counters on one host changed over one record's measurement (warm-up and
// timed iterations): after - before, read outside the timed loops. A counter the device does
// not have is absent, never 0.
struct CounterBlock {
  std::string host;
  std::string device;       // "mlx5_0", "rxe0" (RDMA) or "eth0" (netdev)
  std::optional<int> port;  // the RDMA port; unset for device-wide and netdev counters
  std::string source;       // "rdma-port", "rdma-hw", "netdev", "ethtool"
  std::map<std::string, uint64_t> deltas;
  // Counters that went backwards (a driver reset, or a counter narrower than 64 bits that
  // wrapped): how much they moved is unknown, so they have no delta.
  std::vector<std::string> reset;
  bool operator==(const CounterBlock&) const = default;
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
  // NIC and RDMA counter deltas, one block per host and device; counters_note says why a host
  // has none (no sysfs, nothing readable), and is empty when every host has its counters.
  std::vector<CounterBlock> counters;
  std::string counters_note;
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
  // What `fabricbench info` shows (bench/info/inventory.h): sockets, cores, threads and NUMA
  // nodes; network interfaces (state, MTU, link speed, driver, firmware, addresses); RDMA
  // devices with ports and GID tables. Empty in documents written before they were recorded;
  // an empty listing of this host says why in its `absent`.
  CpuLayout cpu_layout;
  Listing<NetInterface> network_interfaces;
  Listing<RdmaDevice> rdma_devices;
  bool operator==(const HostInfo&) const = default;
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
  bool operator==(const RunInfo&) const = default;
};

}  // namespace fb
