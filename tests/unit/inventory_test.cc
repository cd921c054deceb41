#include "info/inventory.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "info_command.h"

namespace fb {
namespace {

namespace fs = std::filesystem;

// A made-up sysfs tree in a temporary folder, removed at the end of the test.
class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("fabricbench-sysfs-" + std::to_string(::getpid()) + "-" +
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
  void link(const std::string& path, const std::string& target) {
    const fs::path full = root_ / path;
    fs::create_directories(full.parent_path());
    fs::create_symlink(target, full);
  }
  void gid(const std::string& port_dir, int index, const std::string& address, const std::string& type,
           const std::string& netdev) {
    const std::string i = std::to_string(index);
    write(port_dir + "/gids/" + i, address);
    if (!type.empty()) write(port_dir + "/gid_attrs/types/" + i, type);
    if (!netdev.empty()) write(port_dir + "/gid_attrs/ndevs/" + i, netdev);
  }
  std::string root() const { return root_.string(); }

  fs::path root_;
};

constexpr const char* kZeroGid = "0000:0000:0000:0000:0000:0000:0000:0000";

TEST_F(FakeSysfs, RoceDeviceWithV2Ipv4AndV1Gids) {
  const std::string port = "class/infiniband/mlx5_0/ports/1";
  write("class/infiniband/mlx5_0/fw_ver", "28.39.1002");
  write("class/infiniband/mlx5_0/node_guid", "b8ce:f603:00a1:b2c3");
  write(port + "/state", "4: ACTIVE");
  write(port + "/phys_state", "5: LinkUp");
  write(port + "/link_layer", "Ethernet");
  write(port + "/rate", "100 Gb/sec (4X EDR)");
  write(port + "/lid", "0x0");
  gid(port, 0, "fe80:0000:0000:0000:bace:f6ff:fea1:b2c3", "IB/RoCE v1", "ens1f0np0");
  gid(port, 1, "fe80:0000:0000:0000:bace:f6ff:fea1:b2c3", "RoCE v2", "ens1f0np0");
  gid(port, 2, "0000:0000:0000:0000:0000:ffff:0a63:0001", "IB/RoCE v1", "ens1f0np0");
  gid(port, 3, "0000:0000:0000:0000:0000:ffff:0a63:0001", "RoCE v2", "ens1f0np0");
  // Unused entries are all zero (and their attributes cannot be read on a live host).
  write(port + "/gids/4", kZeroGid);
  write(port + "/gids/10", kZeroGid);

  const Listing<RdmaDevice> devices = collect_rdma_devices(root());
  ASSERT_EQ(devices.items.size(), 1u);
  EXPECT_TRUE(devices.absent.empty());
  const RdmaDevice& dev = devices.items[0];
  EXPECT_EQ(dev.name, "mlx5_0");
  EXPECT_EQ(dev.firmware, "28.39.1002");
  EXPECT_EQ(dev.node_guid, "b8ce:f603:00a1:b2c3");
  EXPECT_EQ(dev.netdevs, std::vector<std::string>{"ens1f0np0"});
  ASSERT_EQ(dev.ports.size(), 1u);
  const RdmaPort& p = dev.ports[0];
  EXPECT_EQ(p.number, 1);
  EXPECT_EQ(p.state, "ACTIVE");
  EXPECT_EQ(p.phys_state, "LinkUp");
  EXPECT_EQ(p.link_layer, "Ethernet");
  EXPECT_EQ(p.rate, "100 Gb/sec (4X EDR)");
  EXPECT_FALSE(p.lid);
  ASSERT_EQ(p.gids.size(), 4u);  // 4 and 10 are empty
  EXPECT_EQ(p.gids[0].index, 0);
  EXPECT_EQ(p.gids[0].type, "IB/RoCE v1");
  EXPECT_FALSE(p.gids[0].ipv4);
  EXPECT_EQ(p.gids[3].index, 3);
  EXPECT_EQ(p.gids[3].type, "RoCE v2");
  EXPECT_EQ(p.gids[3].address, "0000:0000:0000:0000:0000:ffff:0a63:0001");
  EXPECT_EQ(p.gids[3].netdev, "ens1f0np0");
  EXPECT_EQ(p.gids[3].ipv4, "10.99.0.1");
}

TEST_F(FakeSysfs, InfinibandPortHasLidAndNoNetdev) {
  const std::string port = "class/infiniband/mlx5_1/ports/1";
  write(port + "/state", "4: ACTIVE");
  write(port + "/link_layer", "InfiniBand");
  write(port + "/rate", "400 Gb/sec (4X NDR)");
  write(port + "/lid", "0x1a");
  gid(port, 0, "fe80:0000:0000:0000:b8ce:f603:00a1:b2c4", "", "");
  write(port + "/gids/1", kZeroGid);

  const Listing<RdmaDevice> devices = collect_rdma_devices(root());
  ASSERT_EQ(devices.items.size(), 1u);
  const RdmaPort& p = devices.items[0].ports.at(0);
  EXPECT_EQ(p.link_layer, "InfiniBand");
  EXPECT_EQ(p.lid, 0x1a);
  ASSERT_EQ(p.gids.size(), 1u);
  EXPECT_FALSE(p.gids[0].type);
  EXPECT_FALSE(p.gids[0].netdev);
  EXPECT_TRUE(devices.items[0].netdevs.empty());
}

TEST_F(FakeSysfs, MissingFilesAreAbsentNotInvented) {
  // A device folder with a port and nothing else readable.
  fs::create_directories(root_ / "class/infiniband/rxe0/ports/1");
  const Listing<RdmaDevice> devices = collect_rdma_devices(root());
  ASSERT_EQ(devices.items.size(), 1u);
  const RdmaDevice& dev = devices.items[0];
  EXPECT_FALSE(dev.firmware);
  EXPECT_FALSE(dev.node_guid);
  ASSERT_EQ(dev.ports.size(), 1u);
  EXPECT_FALSE(dev.ports[0].state);
  EXPECT_FALSE(dev.ports[0].link_layer);
  EXPECT_FALSE(dev.ports[0].rate);
  EXPECT_TRUE(dev.ports[0].gids.empty());
}

TEST_F(FakeSysfs, NoRdmaDevicesSaysWhy) {
  Listing<RdmaDevice> devices = collect_rdma_devices(root());
  EXPECT_TRUE(devices.items.empty());
  EXPECT_NE(devices.absent.find("does not exist"), std::string::npos) << devices.absent;
  fs::create_directories(root_ / "class/infiniband");
  devices = collect_rdma_devices(root());
  EXPECT_NE(devices.absent.find("/class/infiniband is empty"), std::string::npos) << devices.absent;
}

TEST_F(FakeSysfs, NetInterfaces) {
  write("class/net/ens1f0np0/operstate", "up");
  write("class/net/ens1f0np0/mtu", "9000");
  write("class/net/ens1f0np0/speed", "100000");
  write("class/net/ens1f0np0/address", "b8:ce:f6:a1:b2:c3");
  fs::create_directories(root_ / "bus/pci/drivers/mlx5_core");
  link("class/net/ens1f0np0/device/driver", (root_ / "bus/pci/drivers/mlx5_core").string());
  write("class/net/eth1/operstate", "down");
  write("class/net/eth1/mtu", "1500");
  write("class/net/eth1/speed", "-1");
  write("class/net/dummy0/mtu", "1500");

  const Listing<NetInterface> nics = collect_net_interfaces(root());
  ASSERT_EQ(nics.items.size(), 3u);
  EXPECT_EQ(nics.items[0].name, "dummy0");
  EXPECT_FALSE(nics.items[0].state);
  EXPECT_FALSE(nics.items[0].speed_mbps);
  EXPECT_FALSE(nics.items[0].driver);
  EXPECT_EQ(nics.items[1].name, "ens1f0np0");
  EXPECT_EQ(nics.items[1].state, "up");
  EXPECT_EQ(nics.items[1].mtu, 9000);
  EXPECT_EQ(nics.items[1].speed_mbps, 100000);
  EXPECT_EQ(nics.items[1].driver, "mlx5_core");
  EXPECT_EQ(nics.items[1].mac, "b8:ce:f6:a1:b2:c3");
  EXPECT_EQ(nics.items[2].name, "eth1");
  EXPECT_FALSE(nics.items[2].speed_mbps);  // -1: link down
}

TEST_F(FakeSysfs, CpuLayoutAndNuma) {
  // 2 sockets x 2 cores x 2 threads; cpu7 offline.
  for (int cpu = 0; cpu < 8; ++cpu) {
    const std::string dir = "devices/system/cpu/cpu" + std::to_string(cpu);
    write(dir + "/topology/physical_package_id", std::to_string(cpu / 4));
    write(dir + "/topology/core_id", std::to_string((cpu / 2) % 2));
    if (cpu > 0) write(dir + "/online", cpu == 7 ? "0" : "1");
  }
  write("devices/system/node/node0/cpulist", "0-3");
  write("devices/system/node/node0/meminfo", "Node 0 MemTotal:       16384 kB\nNode 0 MemFree: 1 kB");
  write("devices/system/node/node1/cpulist", "4-6");

  const CpuLayout layout = collect_cpu_layout(root());
  EXPECT_EQ(layout.sockets, 2);
  EXPECT_EQ(layout.cores, 4);
  EXPECT_EQ(layout.threads, 7);
  ASSERT_EQ(layout.numa.items.size(), 2u);
  EXPECT_EQ(layout.numa.items[0].cpus, "0-3");
  EXPECT_EQ(layout.numa.items[0].memory_bytes, 16384u * 1024);
  EXPECT_EQ(layout.numa.items[1].id, 1);
  EXPECT_FALSE(layout.numa.items[1].memory_bytes);
}

TEST_F(FakeSysfs, NoTopologyLeavesCountsUnset) {
  const CpuLayout layout = collect_cpu_layout(root());
  EXPECT_FALSE(layout.sockets);
  EXPECT_FALSE(layout.threads);
  EXPECT_TRUE(layout.numa.items.empty());
  EXPECT_FALSE(layout.numa.absent.empty());
}

TEST(Inventory, Ipv4FromGid) {
  EXPECT_EQ(ipv4_from_gid("0000:0000:0000:0000:0000:ffff:c0a8:0102"), "192.168.1.2");
  EXPECT_FALSE(ipv4_from_gid("fe80:0000:0000:0000:0000:0000:0000:0001"));
  EXPECT_FALSE(ipv4_from_gid("not a gid"));
}

TEST(Inventory, JsonSaysWhyPartsAreEmpty) {
  HostInventory inv;
  inv.host.hostname = "node01";
  inv.rdma.absent = "no RDMA devices: /sys/class/infiniband is empty";
  inv.gpus_absent = "no GPUs: nvidia-smi is not installed";
  const nlohmann::json j = to_json(inv);
  for (const char* key : {"hostname", "kernel", "cpu", "memory_bytes", "network_interfaces", "rdma_devices", "gpus",
                          "libraries", "absent"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["hostname"], "node01");
  EXPECT_EQ(j["absent"]["rdma_devices"], inv.rdma.absent);
  EXPECT_EQ(j["absent"]["gpus"], inv.gpus_absent);
  EXPECT_TRUE(j["cpu"]["sockets"].is_null());
}

}  // namespace
}  // namespace fb
