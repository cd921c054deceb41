// Fixed records and run metadata shared by the results tests, the golden files and the
// helper that writes sample results for schema validation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "results/record.h"

namespace fb::testing {

// An ok p2p latency record over ucx with every field set, two ranks.
Record sample_latency_record(uint64_t bytes);
// An ok all-reduce record on CUDA device memory over cuda-ipc, with its device time.
Record sample_device_collective_record();
// A record that was not run.
Record sample_skipped_record();
// A record that failed after measuring some iterations.
Record sample_failed_record();
// Fixed run metadata (version, sha, times, one host) so rendered output never changes.
RunInfo sample_run_info();
// A host with two H100s on NVLink, each next to its own NIC, and the matrix that says so.
HostInfo sample_gpu_host();
// sample_latency_record(65536) with the counter deltas of a RoCE NIC (rdma-port, rdma-hw,
// netdev, ethtool; one counter reset) on node01, and a note for node02 that had none.
Record sample_counters_record();
// A host with its inventory: two NUMA nodes, a RoCE NIC with its netdev and GID table, lo.
HostInfo sample_inventory_host();

// Compares actual with tests/results/golden/<name>. With FABRICBENCH_UPDATE_GOLDEN=1 in the
// environment the golden file is rewritten instead (review the diff before keeping it).
void expect_matches_golden(const std::string& name, const std::string& actual);

}  // namespace fb::testing
