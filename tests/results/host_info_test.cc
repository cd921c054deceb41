#include "results/host_info.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "results/json_io.h"
#include "sample_results.h"

namespace fb {
namespace {

constexpr const char* kDpkgStatus = R"(Package: libibverbs-dev
Status: install ok installed
Version: 44.0-2

Package: libibverbs1
Status: install ok installed
Priority: optional
Version: 44.0-2
Description: Library for direct userspace use of RDMA (InfiniBand/iWARP)
 libibverbs is a library that allows userspace processes to use RDMA
 "verbs" as described in the InfiniBand Architecture Specification.

Package: librdmacm1
Status: deinstall ok config-files
Version: 44.0-2
)";

std::string write_temp(const std::string& name, const std::string& content) {
  // Unique per process: ctest runs test cases of this file in parallel.
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / (name + "-" + std::to_string(getpid()))).string();
  std::ofstream(path) << content;
  return path;
}

TEST(HostInfo, CpuModelIsTheFirstModelName) {
  std::istringstream cpuinfo(
      "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 1\n"
      "model name\t: AMD EPYC 7763 64-Core Processor\n\nprocessor\t: 1\n"
      "model name\t: AMD EPYC 7763 64-Core Processor\n");
  EXPECT_EQ(cpu_model_from_cpuinfo(cpuinfo), "AMD EPYC 7763 64-Core Processor");
}

TEST(HostInfo, CpuWithoutModelNameStaysEmpty) {
  std::istringstream cpuinfo("processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n");
  EXPECT_EQ(cpu_model_from_cpuinfo(cpuinfo), "");
}

TEST(HostInfo, DpkgVersionOfAnInstalledPackage) {
  const std::string status = write_temp("dpkg-status", kDpkgStatus);
  EXPECT_EQ(dpkg_package_version("libibverbs1", status), "44.0-2");
}

TEST(HostInfo, DpkgRemovedOrAbsentPackageHasNoVersion) {
  const std::string status = write_temp("dpkg-status", kDpkgStatus);
  EXPECT_EQ(dpkg_package_version("librdmacm1", status), std::nullopt);
  EXPECT_EQ(dpkg_package_version("libibverbs", status), std::nullopt);
  EXPECT_EQ(dpkg_package_version("libibverbs1", "/nonexistent/dpkg/status"), std::nullopt);
}

TEST(HostInfo, LibrariesComeFromTransportsThenInstalledPackages) {
  TransportInfo fake{};
  fake.name = "fake";
  fake.library_versions = [] {
    return std::vector<std::pair<std::string, std::string>>{{"fakelib", "1.2.3"},
                                                            {"rdma-core", "50.0"}};
  };
  TransportInfo silent{};  // a transport without library versions
  silent.name = "silent";
  const std::string status = write_temp("dpkg-status", kDpkgStatus);
  const std::vector<LibraryVersion> libraries = collect_library_versions({&silent, &fake}, status);
  auto find = [&](const std::string& name) -> std::string {
    for (const auto& l : libraries)
      if (l.name == name) return l.version;
    return "absent";
  };
  EXPECT_EQ(find("fakelib"), "1.2.3");
  EXPECT_EQ(find("rdma-core"), "50.0");  // what the transport loaded wins over the package
  EXPECT_EQ(std::count_if(libraries.begin(), libraries.end(),
                          [](const LibraryVersion& l) { return l.name == "rdma-core"; }),
            1);
}

TEST(HostInfo, InstalledRdmaCoreIsRecorded) {
  const std::string status = write_temp("dpkg-status", kDpkgStatus);
  const std::vector<LibraryVersion> libraries = collect_library_versions({}, status);
  EXPECT_NE(std::find(libraries.begin(), libraries.end(), LibraryVersion{"rdma-core", "44.0-2"}),
            libraries.end());
}

// ---- nvidia-smi, as captured on real hosts ----

// --query-gpu=index,name,pci.bus_id,memory.total,driver_version --format=csv,noheader,nounits
constexpr const char* kOneH100 = "0, NVIDIA H100 80GB HBM3, 00000000:19:00.0, 81559, 550.54.15\n";

// The same query with uuid last, on a two-GPU host.
constexpr const char* kTwoA100 =
    "0, NVIDIA A100-SXM4-40GB, 00000000:07:00.0, 40960, 535.161.08, "
    "GPU-8c5b3a0e-1f2d-4b6c-9e7a-0d1c2b3a4f56\n"
    "1, NVIDIA A100-SXM4-40GB, 00000000:0F:00.0, 40960, 535.161.08, "
    "GPU-1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6\n";

// `nvidia-smi topo -m` on a two-GPU host with a NIC beside each GPU.
constexpr const char* kTopology =
    "\tGPU0\tGPU1\tNIC0\tNIC1\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID\n"
    "GPU0\t X \tNV18\tPIX\tSYS\t0-55,112-167\t0\t\tN/A\n"
    "GPU1\tNV18\t X \tSYS\tPIX\t56-111,168-223\t1\t\tN/A\n"
    "NIC0\tPIX\tSYS\t X \tSYS\t\t\t\t\n"
    "NIC1\tSYS\tPIX\tSYS\t X \t\t\t\t\n"
    "\n"
    "Legend:\n"
    "\n"
    "  X    = Self\n"
    "  SYS  = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes "
    "(e.g., QPI/UPI)\n"
    "  NODE = Connection traversing PCIe as well as the interconnect between PCIe Host Bridges "
    "within a NUMA node\n"
    "  PHB  = Connection traversing PCIe as well as a PCIe Host Bridge (typically the CPU)\n"
    "  PXB  = Connection traversing multiple PCIe bridges (without traversing the PCIe Host "
    "Bridge)\n"
    "  PIX  = Connection traversing at most a single PCIe bridge\n"
    "  NV#  = Connection traversing a bonded set of # NVLinks\n"
    "\n"
    "NIC Legend:\n"
    "\n"
    "  NIC0: mlx5_0\n"
    "  NIC1: mlx5_1\n"
    "\n";

TEST(HostInfo, NvidiaSmiH100) {
  const std::vector<GpuInfo> gpus = parse_nvidia_smi_gpus(kOneH100);
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0], (GpuInfo{0, "NVIDIA H100 80GB HBM3", "00000000:19:00.0",
                              uint64_t{81559} * 1024 * 1024, "550.54.15", ""}));
}

TEST(HostInfo, NvidiaSmiTwoGpusWithUuid) {
  const std::vector<GpuInfo> gpus = parse_nvidia_smi_gpus(kTwoA100);
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_EQ(gpus[1].index, 1);
  EXPECT_EQ(gpus[1].name, "NVIDIA A100-SXM4-40GB");
  EXPECT_EQ(gpus[1].pci_bus_id, "00000000:0F:00.0");
  EXPECT_EQ(gpus[1].memory_bytes, uint64_t{40960} << 20);
  EXPECT_EQ(gpus[1].driver_version, "535.161.08");
  EXPECT_EQ(gpus[1].uuid, "GPU-1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6");
}

TEST(HostInfo, NvidiaSmiBlankOutputHasNoGpus) {
  EXPECT_TRUE(parse_nvidia_smi_gpus("").empty());
  EXPECT_TRUE(parse_nvidia_smi_gpus("\n\n  \n").empty());
}

TEST(HostInfo, NvidiaSmiLinesThatAreNotGpusAreSkipped) {
  // What nvidia-smi prints on stdout when it cannot do its job, around one good line.
  const std::string text =
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
      "that the latest NVIDIA driver is installed and running.\n"
      "No devices were found\n"
      "Unable to determine the device handle for GPU0000:3B:00.0: Unknown Error\n"
      "x, NVIDIA H100 80GB HBM3, 00000000:19:00.0, 81559, 550.54.15\n"    // index not a number
      "-1, NVIDIA H100 80GB HBM3, 00000000:19:00.0, 81559, 550.54.15\n"   // negative index
      "2, NVIDIA H100 80GB HBM3, 00000000:19:00.0, 80 GiB, 550.54.15\n"   // units were not off
      "3, NVIDIA H100 80GB HBM3, 00000000:19:00.0, 81559\n"               // a column short
      "4, NVIDIA H100 80GB HBM3, 19:00.0, 81559, 550.54.15\n"             // not a bus id
      "5, NVIDIA H100 80GB HBM3, 00000000:19:00.0, 81559, 550.54.15, GPU-x, extra\n"
      ",,,,\n"
      "\x01\xff garbage \xfe\n"
      "7, NVIDIA H100 80GB HBM3, 00000000:DB:00.0, 81559, 550.54.15\n";
  const std::vector<GpuInfo> gpus = parse_nvidia_smi_gpus(text);
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].index, 7);
  EXPECT_EQ(gpus[0].pci_bus_id, "00000000:DB:00.0");
}

TEST(HostInfo, NvidiaSmiNameWithCommasStaysWhole) {
  const std::vector<GpuInfo> gpus =
      parse_nvidia_smi_gpus("0, Custom GPU, Rev 2, OEM, 00000000:19:00.0, 24576, 550.54.15\n");
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].name, "Custom GPU, Rev 2, OEM");
  EXPECT_EQ(gpus[0].pci_bus_id, "00000000:19:00.0");
  EXPECT_EQ(gpus[0].memory_bytes, uint64_t{24576} << 20);
  EXPECT_EQ(gpus[0].driver_version, "550.54.15");
}

TEST(HostInfo, NvidiaSmiUnreadableValuesStayEmpty) {
  const std::vector<GpuInfo> gpus = parse_nvidia_smi_gpus(
      "0, NVIDIA GH200 480GB, 00000009:01:00.0, [N/A], [Not Supported], [N/A]\r\n");
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].name, "NVIDIA GH200 480GB");
  EXPECT_EQ(gpus[0].memory_bytes, 0u);
  EXPECT_EQ(gpus[0].driver_version, "");
  EXPECT_EQ(gpus[0].uuid, "");
}

TEST(HostInfo, TopologyKeepsTheMatrixAndNicLegend) {
  EXPECT_EQ(gpu_topology_from_nvidia_smi(kTopology), testing::sample_gpu_host().gpu_topology);
}

TEST(HostInfo, TopologyWithoutEscapesOrBlankOutput) {
  EXPECT_EQ(gpu_topology_from_nvidia_smi(
                "\x1b[4m\tGPU0\tCPU Affinity\tNUMA Affinity\x1b[0m\nGPU0\t X \t0-63\t0\n"),
            "\tGPU0\tCPU Affinity\tNUMA Affinity\nGPU0\t X \t0-63\t0");
  EXPECT_EQ(gpu_topology_from_nvidia_smi(""), "");
  EXPECT_EQ(gpu_topology_from_nvidia_smi("\n \n\t\n"), "");
}

TEST(HostInfo, DescribesThisHostAndSurvivesTheWire) {
  const HostInfo host = collect_host_info();
  EXPECT_FALSE(host.hostname.empty());
  EXPECT_FALSE(host.kernel.empty());
  EXPECT_GE(host.cores, 1);
  EXPECT_GT(host.memory_bytes, 0u);
  // The inventory of `fabricbench info`: every part is listed or says why it is empty.
  EXPECT_TRUE(!host.network_interfaces.items.empty() || !host.network_interfaces.absent.empty());
  EXPECT_TRUE(!host.rdma_devices.items.empty() || !host.rdma_devices.absent.empty());
  EXPECT_TRUE(!host.cpu_layout.numa.items.empty() || !host.cpu_layout.numa.absent.empty());
  // Ranks exchange it as JSON text.
  Expected<HostInfo> back = host_from_json(nlohmann::json::parse(to_json(host).dump()));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back.value(), host);
}

TEST(HostInfo, GpusSurviveTheWire) {
  // What run_report's gather_hosts sends between ranks.
  const HostInfo host = testing::sample_gpu_host();
  Expected<HostInfo> back = host_from_json(nlohmann::json::parse(to_json(host).dump()));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back.value(), host);
}

}  // namespace
}  // namespace fb
