// Counter snapshots and deltas on made-up sysfs trees, the choice of devices, the wire format
// to rank 0, and the real kernel's counters of lo.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bootstrap/unique_fd.h"
#include "collective/collective_record.h"
#include "counters/counter_probe.h"
#include "counters/counter_scope.h"
#include "counters/counter_snapshot.h"
#include "p2p/p2p_record.h"

namespace fb {
namespace {

namespace fs = std::filesystem;

class CounterTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("fabricbench-counters-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& path, const std::string& text) {
    const fs::path full = root_ / path;
    fs::create_directories(full.parent_path());
    std::ofstream(full) << text << "\n";
  }
  void remove(const std::string& path) { fs::remove_all(root_ / path); }
  std::string root() const { return root_.string(); }

  // A RoCE NIC as mlx5 lays it out: IB port counters, port and device hw_counters, a netdev.
  void mlx5(uint64_t xmit, uint64_t cnp) {
    write("class/infiniband/mlx5_0/ports/1/counters/port_xmit_data", std::to_string(xmit));
    write("class/infiniband/mlx5_0/ports/1/counters/port_rcv_data", "4000");
    write("class/infiniband/mlx5_0/ports/1/hw_counters/np_cnp_sent", std::to_string(cnp));
    write("class/infiniband/mlx5_0/ports/1/hw_counters/lifespan", "10");
    write("class/infiniband/mlx5_0/ports/1/gids/0", "fe80:0000:0000:0000:0000:0000:0000:0001");
    write("class/infiniband/mlx5_0/ports/1/gid_attrs/ndevs/0", "eth2");
    write("class/infiniband/mlx5_0/hw_counters/req_cqe_error", "0");
    netdev("eth2", "0x1003", "up", 1000);
  }
  void netdev(const std::string& name, const std::string& flags, const std::string& state, uint64_t rx_bytes) {
    write("class/net/" + name + "/flags", flags);
    write("class/net/" + name + "/operstate", state);
    write("class/net/" + name + "/statistics/rx_bytes", std::to_string(rx_bytes));
    write("class/net/" + name + "/statistics/tx_bytes", "0");
  }

  CounterScope scope_of(std::vector<RdmaPortRef> ports, std::vector<std::string> netdevs) {
    CounterScope scope;
    scope.sysfs_root = root();
    scope.rdma_ports = std::move(ports);
    scope.netdevs = std::move(netdevs);
    return scope;
  }

  fs::path root_;
};

const CounterBlock* find_block(const std::vector<CounterBlock>& blocks, const std::string& device,
                               const std::string& source, std::optional<int> port = std::nullopt) {
  for (const CounterBlock& b : blocks)
    if (b.device == device && b.source == source && b.port == port) return &b;
  return nullptr;
}

TEST_F(CounterTree, SnapshotReadsEverySourceAndSkipsSettings) {
  mlx5(100, 5);
  write("class/infiniband/mlx5_0/ports/1/hw_counters/garbled", "not a number");
  const CounterSnapshot s = take_snapshot(scope_of({{"mlx5_0", 1}}, {"eth2"}));
  ASSERT_EQ(s.sets.size(), 4u);
  EXPECT_TRUE(s.notes.empty());
  std::map<std::string, std::map<std::string, uint64_t>> by_source;
  for (const CounterSet& set : s.sets) by_source[set.source + (set.port ? "/port" : "")] = set.values;
  EXPECT_EQ(by_source["rdma-port/port"], (std::map<std::string, uint64_t>{{"port_rcv_data", 4000}, {"port_xmit_data", 100}}));
  EXPECT_EQ(by_source["rdma-hw/port"], (std::map<std::string, uint64_t>{{"np_cnp_sent", 5}}));  // no lifespan, no garble
  EXPECT_EQ(by_source["rdma-hw"], (std::map<std::string, uint64_t>{{"req_cqe_error", 0}}));
  EXPECT_EQ(by_source["netdev"], (std::map<std::string, uint64_t>{{"rx_bytes", 1000}, {"tx_bytes", 0}}));
}

TEST_F(CounterTree, DeltasAreAfterMinusBeforeAndZeroIsKept) {
  mlx5(100, 5);
  const CounterScope scope = scope_of({{"mlx5_0", 1}}, {"eth2"});
  const CounterSnapshot before = take_snapshot(scope);
  mlx5(100 + 2500, 5 + 3);
  write("class/net/eth2/statistics/rx_bytes", "1000000");
  const auto blocks = diff(before, take_snapshot(scope), "hostA");
  const CounterBlock* port = find_block(blocks, "mlx5_0", "rdma-port", 1);
  ASSERT_NE(port, nullptr);
  EXPECT_EQ(port->host, "hostA");
  EXPECT_EQ(port->deltas, (std::map<std::string, uint64_t>{{"port_rcv_data", 0}, {"port_xmit_data", 2500}}));
  EXPECT_EQ(find_block(blocks, "mlx5_0", "rdma-hw", 1)->deltas.at("np_cnp_sent"), 3u);
  EXPECT_EQ(find_block(blocks, "mlx5_0", "rdma-hw")->deltas.at("req_cqe_error"), 0u);
  EXPECT_EQ(find_block(blocks, "eth2", "netdev")->deltas.at("rx_bytes"), 999000u);
  EXPECT_TRUE(port->reset.empty());
}

TEST_F(CounterTree, RxeHasOnlyHwCountersAndAbsentOnesStayAbsent) {
  // rxe has no ports/N/counters (no PMA): no rdma-port block at all, not one of zeros.
  write("class/infiniband/rxe0/ports/1/hw_counters/sent_pkts", "10");
  write("class/infiniband/rxe0/ports/1/hw_counters/rcvd_seq_err", "0");
  const CounterScope scope = scope_of({{"rxe0", 1}}, {});
  const CounterSnapshot before = take_snapshot(scope);
  write("class/infiniband/rxe0/ports/1/hw_counters/sent_pkts", "20");
  const auto blocks = diff(before, take_snapshot(scope), "h");
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].source, "rdma-hw");
  EXPECT_EQ(blocks[0].deltas, (std::map<std::string, uint64_t>{{"rcvd_seq_err", 0}, {"sent_pkts", 10}}));
  EXPECT_EQ(blocks[0].deltas.count("port_xmit_data"), 0u);
  EXPECT_EQ(find_block(blocks, "rxe0", "rdma-port", 1), nullptr);
}

TEST_F(CounterTree, CountersAppearingOrVanishingHaveNoDelta) {
  netdev("eth0", "0x1003", "up", 10);
  const CounterScope scope = scope_of({}, {"eth0"});
  const CounterSnapshot before = take_snapshot(scope);
  remove("class/net/eth0/statistics/tx_bytes");
  write("class/net/eth0/statistics/rx_dropped", "7");
  write("class/net/eth0/statistics/rx_bytes", "30");
  const auto blocks = diff(before, take_snapshot(scope), "h");
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].deltas, (std::map<std::string, uint64_t>{{"rx_bytes", 20}}));
}

TEST_F(CounterTree, ADeviceThatVanishesLeavesNoBlockAndANote) {
  netdev("eth0", "0x1003", "up", 10);
  netdev("eth1", "0x1003", "up", 10);
  const CounterScope scope = scope_of({{"mlx5_9", 1}}, {"eth0", "eth1"});
  const CounterSnapshot before = take_snapshot(scope);
  ASSERT_EQ(before.notes.size(), 1u);  // mlx5_9 is not there
  EXPECT_NE(before.notes[0].find("mlx5_9/ports/1 does not exist"), std::string::npos);
  remove("class/net/eth1");
  const CounterSnapshot after = take_snapshot(scope);
  EXPECT_EQ(after.notes.size(), 2u);
  const auto blocks = diff(before, after, "h");
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].device, "eth0");
}

TEST_F(CounterTree, ACounterGoingBackwardsIsAResetNotAHugeDelta) {
  netdev("eth0", "0x1003", "up", 5000);
  const CounterScope scope = scope_of({}, {"eth0"});
  const CounterSnapshot before = take_snapshot(scope);
  write("class/net/eth0/statistics/rx_bytes", "12");  // the driver reset its statistics
  write("class/net/eth0/statistics/tx_bytes", "1");
  const auto blocks = diff(before, take_snapshot(scope), "h");
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].deltas, (std::map<std::string, uint64_t>{{"tx_bytes", 1}}));
  EXPECT_EQ(blocks[0].reset, std::vector<std::string>{"rx_bytes"});
}

TEST_F(CounterTree, Full64BitValuesSubtractExactly) {
  netdev("eth0", "0x1003", "up", 18446744073709551000ull);
  const CounterScope scope = scope_of({}, {"eth0"});
  const CounterSnapshot before = take_snapshot(scope);
  write("class/net/eth0/statistics/rx_bytes", "18446744073709551615");
  EXPECT_EQ(diff(before, take_snapshot(scope), "h").at(0).deltas.at("rx_bytes"), 615u);
}

// Stands in for a NIC driver's ethtool statistics: no NIC here has pause counters.
std::optional<std::map<std::string, uint64_t>> fake_ethtool_pause(uint64_t pauses, const std::string& netdev) {
  if (netdev != "eth2") return std::nullopt;
  return std::map<std::string, uint64_t>{{"rx_pause_ctrl_phy", pauses}, {"rx_prio3_pause", pauses * 2}};
}

TEST_F(CounterTree, EthtoolCountersAreABlockOfTheirOwnWhereTheDriverHasThem) {
  netdev("eth2", "0x1003", "up", 0);
  netdev("veth0", "0x1003", "up", 0);
  CounterScope scope = scope_of({}, {"eth2", "veth0"});
  scope.ethtool = [](const std::string& n) { return fake_ethtool_pause(4, n); };
  const CounterSnapshot before = take_snapshot(scope);
  scope.ethtool = [](const std::string& n) { return fake_ethtool_pause(10, n); };
  const auto blocks = diff(before, take_snapshot(scope), "h");
  const CounterBlock* ethtool = find_block(blocks, "eth2", "ethtool");
  ASSERT_NE(ethtool, nullptr);
  EXPECT_EQ(ethtool->deltas, (std::map<std::string, uint64_t>{{"rx_pause_ctrl_phy", 6}, {"rx_prio3_pause", 12}}));
  EXPECT_EQ(find_block(blocks, "veth0", "ethtool"), nullptr);  // none: absent, not zeros
}

TEST(CounterNames, FlowControlCountersAreKept) {
  for (const char* name : {"rx_pause_ctrl_phy", "tx_pause_frames", "rx_prio3_bytes", "tx_pfc_requests", "RxPFCFrames"})
    EXPECT_TRUE(flow_control_counter(name)) << name;
  for (const char* name : {"rx_bytes", "rx0_packets", "tx_queue_3_xdp_xmit", "peer_ifindex"})
    EXPECT_FALSE(flow_control_counter(name)) << name;
}

TEST(CounterNames, LiveEthtoolOfDevicesWithoutStatistics) {
  // lo has no driver statistics; a name that is no interface has none either.
  EXPECT_FALSE(read_ethtool_flow_control("lo").has_value());
  EXPECT_FALSE(read_ethtool_flow_control("fb-no-such-if").has_value());
  EXPECT_FALSE(read_ethtool_flow_control("a-name-far-too-long-for-an-interface").has_value());
}

TEST_F(CounterTree, AVerbsTransportNamesItsDevicePortAndNetdev) {
  mlx5(0, 0);
  write("class/infiniband/mlx5_0/ports/2/hw_counters/np_cnp_sent", "0");
  write("class/infiniband/mlx5_1/ports/1/hw_counters/np_cnp_sent", "0");
  netdev("eth3", "0x1003", "up", 0);
  const std::map<std::string, std::string> verbs{{"device", "mlx5_0"}, {"port", "1"}, {"gid.netdev", "eth2"}};
  CounterScope scope = counter_scope(root(), verbs, false);
  EXPECT_EQ(scope.rdma_ports, (std::vector<RdmaPortRef>{{"mlx5_0", 1}}));
  EXPECT_EQ(scope.netdevs, std::vector<std::string>{"eth2"});
  // Without a GID netdev ("-"): the device's own netdevs.
  scope = counter_scope(root(), {{"device", "mlx5_0"}, {"port", "2"}, {"gid.netdev", "-"}}, false);
  EXPECT_EQ(scope.rdma_ports, (std::vector<RdmaPortRef>{{"mlx5_0", 2}}));
  EXPECT_EQ(scope.netdevs, std::vector<std::string>{"eth2"});
}

TEST_F(CounterTree, OtherwiseEveryRdmaPortAndEveryNetdevThatIsUp) {
  write("class/infiniband/mlx5_0/ports/1/hw_counters/np_cnp_sent", "0");
  write("class/infiniband/mlx5_1/ports/1/hw_counters/np_cnp_sent", "0");
  netdev("eth0", "0x1003", "up", 0);
  netdev("eth1", "0x1002", "down", 0);      // administratively down
  netdev("eth2", "0x1003", "down", 0);      // no carrier
  netdev("dummy0", "0x83", "unknown", 0);   // up, no carrier state: carries traffic
  netdev("lo", "0x9", "unknown", 0);
  CounterScope scope = counter_scope(root(), {{"progress", "poll"}}, false);
  EXPECT_EQ(scope.rdma_ports, (std::vector<RdmaPortRef>{{"mlx5_0", 1}, {"mlx5_1", 1}}));
  EXPECT_EQ(scope.netdevs, (std::vector<std::string>{"dummy0", "eth0"}));
  // Every rank on this host: their sockets meet on lo.
  scope = counter_scope(root(), {}, true);
  EXPECT_EQ(scope.netdevs, (std::vector<std::string>{"dummy0", "eth0", "lo"}));
  // A device the transport names but sysfs lacks: the host-wide choice.
  scope = counter_scope(root(), {{"device", "mlx5_7"}}, false);
  EXPECT_EQ(scope.rdma_ports.size(), 2u);
}

TEST_F(CounterTree, NicsBeforeVirtualNetdevs) {
  // A container host: one NIC and many veths, all up. The veths' traffic is on the NIC too.
  netdev("eth0", "0x1003", "up", 0);
  std::filesystem::create_directories(root_ / "devices/pci0000:00/0000:00:03.0");
  std::filesystem::create_directory_symlink(root_ / "devices/pci0000:00/0000:00:03.0", root_ / "class/net/eth0/device");
  netdev("veth1a2b", "0x1003", "up", 0);
  netdev("docker0", "0x1003", "up", 0);
  EXPECT_EQ(counter_scope(root(), {}, false).netdevs, std::vector<std::string>{"eth0"});
  netdev("eth0", "0x1002", "down", 0);  // no NIC up: the virtual ones are all there is
  EXPECT_EQ(counter_scope(root(), {}, false).netdevs, (std::vector<std::string>{"docker0", "veth1a2b"}));
}

TEST_F(CounterTree, LoIsReadWhenNothingElseIsUp) {
  netdev("eth0", "0x1002", "down", 0);
  netdev("lo", "0x9", "unknown", 0);
  EXPECT_EQ(counter_scope(root(), {}, false).netdevs, std::vector<std::string>{"lo"});
}

TEST_F(CounterTree, AProbeOnAHostWithoutSysfsSaysWhy) {
  CounterProbe nothing(counter_scope(root() + "/missing", {}, true), true, "hostB");
  nothing.before();
  const HostCounters counters = nothing.after();
  EXPECT_TRUE(counters.blocks.empty());
  EXPECT_EQ(counters.note.rfind("hostB: no RDMA port and no netdev to read", 0), 0u) << counters.note;

  netdev("eth0", "0x1003", "up", 0);
  CounterProbe unreadable(scope_of({}, {"eth0"}), true, "hostC");
  unreadable.before();
  remove("class/net/eth0/statistics");
  const HostCounters gone = unreadable.after();
  EXPECT_TRUE(gone.blocks.empty());
  EXPECT_NE(gone.note.find("hostC: no counters could be read: "), std::string::npos) << gone.note;
  EXPECT_NE(gone.note.find("eth0/statistics cannot be read"), std::string::npos) << gone.note;
}

TEST_F(CounterTree, OnlyTheReadingRankReads) {
  netdev("eth0", "0x1003", "up", 0);
  CounterProbe other(scope_of({}, {"eth0"}), false, "h");
  other.before();
  write("class/net/eth0/statistics/rx_bytes", "5");
  EXPECT_EQ(other.after(), HostCounters{});
  CounterProbe reader(scope_of({}, {"eth0"}), true, "h");
  EXPECT_EQ(reader.after(), HostCounters{});  // no before(): nothing to subtract from
  reader.before();
  write("class/net/eth0/statistics/rx_bytes", "9");
  EXPECT_EQ(reader.after().blocks.at(0).deltas.at("rx_bytes"), 4u);
}

HostCounters sample_counters() {
  HostCounters c;
  c.blocks.push_back({"hostA", "mlx5_0", 1, "rdma-hw", {{"np_cnp_sent", 3}, {"out_of_sequence", 0}}, {}});
  c.blocks.push_back({"hostA", "eth2", std::nullopt, "netdev", {{"rx_bytes", 1u << 30}}, {"tx_bytes"}});
  return c;
}

TEST(CounterWire, HostCountersRoundTripAndBadInputIsAnError) {
  const HostCounters c = sample_counters();
  auto back = host_counters_from_json(nlohmann::json::parse(counters_to_json(c).dump()));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back.value(), c);
  HostCounters noted{{}, "hostB: no counters could be read"};
  EXPECT_EQ(host_counters_from_json(counters_to_json(noted)).value(), noted);
  EXPECT_FALSE(host_counters_from_json(nlohmann::json::parse(R"({"blocks": 3, "note": ""})")).ok());
  auto negative = nlohmann::json::parse(R"({"blocks": [{"host": "h", "device": "d", "source": "netdev",
                                                        "deltas": {"rx_bytes": -1}}], "note": ""})");
  auto refused = host_counters_from_json(negative);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("deltas.rx_bytes"), std::string::npos) << refused.status().message();
}

TEST(CounterWire, P2pRecordsCarryEveryReadingHostsBlocksAndNotes) {
  RankResult reader;
  reader.rank = 0;
  reader.role = "initiator";
  reader.peer = 1;
  reader.counters = sample_counters();
  RankResult quiet;  // same host, not the reading rank
  quiet.rank = 1;
  quiet.role = "responder";
  quiet.peer = 0;
  auto shipped = deserialize_rank_result(serialize(reader));
  ASSERT_TRUE(shipped.ok()) << shipped.status().to_string();
  EXPECT_EQ(shipped->counters, reader.counters);
  RankResult other_host = quiet;
  other_host.rank = 2;
  other_host.counters.note = "hostB: no counters could be read";

  RecordIdentity id;
  id.benchmark = "p2p";
  id.test = "bw";
  id.transport = "loopback";
  id.ranks = 3;
  const Record record = build_p2p_record(id, 64, {shipped.value(), quiet, other_host});
  EXPECT_EQ(record.counters, sample_counters().blocks);
  EXPECT_EQ(record.counters_note, "hostB: no counters could be read");
}

TEST(CounterWire, CollectiveRecordsCarryTheBlocksToo) {
  CollectiveRankResult r;
  r.rank = 0;
  r.host = "hostA";
  r.iterations = 1;
  r.elapsed_s = 1e-3;
  r.samples_us = {1000};
  r.counters = sample_counters();
  auto back = deserialize_collective_result(serialize(r));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->counters, r.counters);
  CollectiveCase c;
  c.shape = {CollectiveKind::kAllReduce, DataType::kFloat32, ReduceOp::kSum, 1, 256};
  c.identity.benchmark = "collective";
  c.identity.test = "allreduce";
  c.identity.ranks = 1;
  c.identity.bytes = 1024;
  EXPECT_EQ(build_collective_record(c, {back.value()}).counters, sample_counters().blocks);
}

// The real kernel: bytes sent over a TCP connection on 127.0.0.1 show in lo's statistics.
TEST(LiveCounters, LoopbackStatisticsMoveWithTcpTraffic) {
  if (!fs::exists("/sys/class/net/lo/statistics/rx_bytes"))
    GTEST_SKIP() << "/sys/class/net/lo/statistics/rx_bytes does not exist (no sysfs here)";
  const UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener) << "socket: errno " << errno;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);

  CounterScope scope;
  scope.netdevs = {"lo"};
  scope.ethtool = read_ethtool_flow_control;
  const CounterSnapshot before = take_snapshot(scope);

  constexpr size_t kBytes = 4 << 20;
  std::thread sender([&] {
    const UniqueFd out(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(out.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    std::vector<char> chunk(64 << 10, 'x');
    for (size_t sent = 0; sent < kBytes;) {
      const ssize_t n = ::send(out.get(), chunk.data(), std::min(chunk.size(), kBytes - sent), MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  });
  const UniqueFd in(::accept(listener.get(), nullptr, nullptr));
  size_t received = 0;
  std::vector<char> buffer(64 << 10);
  for (ssize_t n; in && (n = ::recv(in.get(), buffer.data(), buffer.size(), 0)) > 0;) received += static_cast<size_t>(n);
  sender.join();
  ASSERT_EQ(received, kBytes);

  const auto blocks = diff(before, take_snapshot(scope), "this-host");
  const CounterBlock* lo = find_block(blocks, "lo", "netdev");
  ASSERT_NE(lo, nullptr);
  EXPECT_GE(lo->deltas.at("rx_bytes"), kBytes);
  EXPECT_GE(lo->deltas.at("tx_bytes"), kBytes);
  EXPECT_GT(lo->deltas.at("rx_packets"), 0u);
  EXPECT_EQ(find_block(blocks, "lo", "ethtool"), nullptr);  // lo has no driver statistics
}

}  // namespace
}  // namespace fb
