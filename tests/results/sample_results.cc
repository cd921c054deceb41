#include "sample_results.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

namespace fb::testing {
namespace {

RecordIdentity ucx_latency_identity(uint64_t bytes) {
  RecordIdentity id;
  id.benchmark = "p2p";
  id.test = "latency";
  id.op = "send";
  id.transport = "ucx";
  id.transport_options = {{"UCX_TLS", "rc_x,self"}, {"UCX_NET_DEVICES", "mlx5_0:1"}};
  id.memory = "host";
  id.ranks = 2;
  id.bytes = bytes;
  return id;
}

RankSummary rank_summary(int rank, const Record& r) {
  RankSummary s;
  s.rank = rank;
  s.host = rank == 0 ? "node01" : "node02";
  s.role = rank == 0 ? "initiator" : "responder";
  s.peer = 1 - rank;
  s.iterations = r.iterations;
  s.elapsed_s = 0.25;
  s.latency_us = r.latency_us;
  s.bandwidth = r.bandwidth;
  s.msg_rate = r.msg_rate;
  return s;
}

}  // namespace

Record sample_latency_record(uint64_t bytes) {
  Record r;
  r.id = ucx_latency_identity(bytes);
  r.iterations = 1000;
  r.warmup = 100;
  r.window = 1;
  // Binary fractions (x.5, x.25) keep the golden text exact on every platform.
  const double base = 1.5 + static_cast<double>(bytes) / 2048.0;
  r.latency_us = {base, base + 0.25, base + 0.5, base + 1.0, base + 4.0, base + 12.5, base + 0.375};
  r.bandwidth.gbytes_per_s = static_cast<double>(bytes) / (base + 0.25) / 1e3;
  r.bandwidth.gbits_per_s = r.bandwidth.gbytes_per_s * 8;
  r.msg_rate = 1e6 / (base + 0.25);
  r.sample_unit = "one-way latency (RTT/2)";
  r.samples_us = {base + 2.0, base + 0.25, base, base + 0.5};
  r.samples_total = 1000;
  r.samples_cap = 4;
  r.per_rank = {rank_summary(0, r), rank_summary(1, r)};
  return r;
}

Record sample_device_collective_record() {
  Record r = sample_latency_record(1 << 20);
  r.id.benchmark = "collective";
  r.id.test = "allreduce";
  r.id.transport = "cuda-ipc";
  r.id.transport_options = {{"data_path", "gpu-direct"}, {"chunk_bytes", "262144"}};
  r.id.memory = "cuda";
  r.id.dtype = "fp32";
  r.id.reduce_op = "sum";
  r.id.algorithm = "ring";
  r.sample_unit = "one iteration of the collective";
  for (RankSummary& rank : r.per_rank) {
    rank.role = "member";
    rank.peer = -1;
  }
  r.collective = CollectiveResult{.count = 262144, .bytes_requested = 1 << 20, .time_us = 24.5,
                                  .algbw_gbytes_per_s = 42.75, .busbw_gbytes_per_s = 42.75,
                                  .checked = true, .wrong = 0, .slowest_rank = 1, .device_time_us = 23.25};
  return r;
}

Record sample_skipped_record() {
  Record r;
  r.id = ucx_latency_identity(8);
  r.id.memory = "cuda";
  r.status = RecordStatus::kSkipped;
  r.reason = "transport 'ucx' does not support memory kind 'cuda' on this host";
  r.iterations = 1000;
  r.warmup = 100;
  r.window = 1;
  return r;
}

Record sample_failed_record() {
  Record r = sample_latency_record(65536);
  r.status = RecordStatus::kFailed;
  r.reason = "rank 1 (node02): ucp_tag_recv_nb failed: Endpoint timeout";
  r.latency_us.p999 = std::numeric_limits<double>::quiet_NaN();  // too few samples for p99.9
  r.samples_total = 3;
  r.samples_us.resize(3);
  r.per_rank.resize(1);
  return r;
}

RunInfo sample_run_info() {
  RunInfo run;
  run.tool_version = "0.1.0";
  run.git_sha = "0123456789ab";
  run.command_line = {"fabricbench", "p2p",    "--transport", "ucx",
                      "--sizes",     "8,4096", "--json",      "results.json"};
  run.start_time = "2024-05-01T12:00:00Z";
  run.end_time = "2024-05-01T12:00:07Z";
  run.benchmark = "p2p";
  run.plan = {{"test", "latency"}, {"sizes", "8,4096"}, {"iterations", "1000"}, {"warmup", "100"}};
  HostInfo host;
  host.hostname = "node01";
  host.kernel = "6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)";
  host.cpu_model = "AMD EPYC 7763 64-Core Processor";
  host.cores = 128;
  host.memory_bytes = 540881174528;
  host.libraries = {{"ucx", "1.13.1"}, {"rdma-core", "44.0-2"}};
  run.hosts = {host};
  return run;
}

HostInfo sample_gpu_host() {
  HostInfo host = sample_run_info().hosts.at(0);
  host.hostname = "gpu01";
  host.gpus = {{0, "NVIDIA H100 80GB HBM3", "00000000:19:00.0", uint64_t{81559} << 20, "550.54.15",
                "GPU-5ce4a3b2-8f1d-4c6e-9a07-31d2b9e0f4a1"},
               {1, "NVIDIA H100 80GB HBM3", "00000000:3B:00.0", uint64_t{81559} << 20, "550.54.15",
                "GPU-0b7c61e9-2d44-4f3a-8e15-c9a6f2d7b803"}};
  host.gpu_topology =
      "\tGPU0\tGPU1\tNIC0\tNIC1\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID\n"
      "GPU0\t X \tNV18\tPIX\tSYS\t0-55,112-167\t0\t\tN/A\n"
      "GPU1\tNV18\t X \tSYS\tPIX\t56-111,168-223\t1\t\tN/A\n"
      "NIC0\tPIX\tSYS\t X \tSYS\n"
      "NIC1\tSYS\tPIX\tSYS\t X\n"
      "\n"
      "NIC Legend:\n"
      "\n"
      "  NIC0: mlx5_0\n"
      "  NIC1: mlx5_1";
  return host;
}

void expect_matches_golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(FB_RESULTS_TEST_DIR) + "/golden/" + name;
  const char* update = std::getenv("FABRICBENCH_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    std::printf("rewrote %s\n", path.c_str());
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path
                  << "; create it with FABRICBENCH_UPDATE_GOLDEN=1";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(expected.str(), actual)
      << "output differs from " << path
      << "; if the change is intended, rerun with FABRICBENCH_UPDATE_GOLDEN=1 and review the diff";
}

Record sample_counters_record() {
  Record r = sample_latency_record(65536);
  r.counters = {
      {"node01", "mlx5_0", 1, "rdma-port", {{"port_rcv_data", 16400}, {"port_xmit_data", 16500}}, {}},
      {"node01", "mlx5_0", 1, "rdma-hw",
       {{"np_cnp_sent", 0}, {"np_ecn_marked_roce_packets", 3}, {"out_of_sequence", 0}, {"rp_cnp_handled", 2}},
       {"local_ack_timeout_err"}},
      {"node01", "eth2", std::nullopt, "netdev", {{"rx_bytes", 65800}, {"tx_bytes", 66000}}, {}},
      {"node01", "eth2", std::nullopt, "ethtool", {{"rx_pause_ctrl_phy", 0}, {"tx_prio3_pause", 1}}, {}},
  };
  r.counters_note = "node02: no counters could be read: /sys/class/net/eth2/statistics cannot be read";
  return r;
}

HostInfo sample_inventory_host() {
  HostInfo host = sample_run_info().hosts.at(0);
  host.cpu_layout.sockets = 2;
  host.cpu_layout.cores = 64;
  host.cpu_layout.threads = 128;
  host.cpu_layout.numa.items = {{0, "0-31,64-95", uint64_t{256} << 30}, {1, "32-63,96-127", std::nullopt}};
  NetInterface eth2;
  eth2.name = "eth2";
  eth2.state = "up";
  eth2.mtu = 9000;
  eth2.speed_mbps = 200000;
  eth2.driver = "mlx5_core";
  eth2.firmware = "28.39.1002";
  eth2.mac = "b8:ce:f6:a1:b2:c3";
  eth2.addresses = {"10.0.0.1/24", "fe80::bace:f6ff:fea1:b2c3/64"};
  NetInterface lo;
  lo.name = "lo";
  lo.state = "unknown";
  lo.mtu = 65536;
  host.network_interfaces.items = {eth2, lo};
  RdmaDevice mlx5;
  mlx5.name = "mlx5_0";
  mlx5.firmware = "28.39.1002";
  mlx5.node_guid = "b8ce:f603:00a1:b2c3";
  mlx5.node_type = "1: CA";
  mlx5.netdevs = {"eth2"};
  RdmaPort port;
  port.number = 1;
  port.state = "ACTIVE";
  port.phys_state = "LinkUp";
  port.link_layer = "Ethernet";
  port.rate = "200 Gb/sec (2X HDR)";
  port.gids = {{0, "fe80:0000:0000:0000:bace:f6ff:fea1:b2c3", "IB/RoCE v1", "eth2", std::nullopt},
               {3, "0000:0000:0000:0000:0000:ffff:0a00:0001", "RoCE v2", "eth2", "10.0.0.1"}};
  mlx5.ports = {port};
  host.rdma_devices.items = {mlx5};
  return host;
}

}  // namespace fb::testing
