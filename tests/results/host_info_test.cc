#include "results/host_info.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "results/json_io.h"

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

TEST(HostInfo, DescribesThisHostAndSurvivesTheWire) {
  const HostInfo host = collect_host_info();
  EXPECT_FALSE(host.hostname.empty());
  EXPECT_FALSE(host.kernel.empty());
  EXPECT_GE(host.cores, 1);
  EXPECT_GT(host.memory_bytes, 0u);
  // Ranks exchange it as JSON text.
  Expected<HostInfo> back = host_from_json(nlohmann::json::parse(to_json(host).dump()));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back.value(), host);
}

}  // namespace
}  // namespace fb
