#include "results/host_info.h"

#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <fstream>

namespace fb {
namespace {

constexpr const char* kDpkgStatus = "/var/lib/dpkg/status";

// Installed packages worth recording, named by what they provide. libibverbs1 is built from
// rdma-core, so its version is rdma-core's.
struct InstalledLibrary {
  const char* name;
  const char* debian_package;
};
constexpr InstalledLibrary kInstalledLibraries[] = {
    {"rdma-core", "libibverbs1"},
    {"openmpi", "libopenmpi3"},
};

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return std::string(text.substr(first, last - first + 1));
}

// "Key: value" -> value when the line starts with key and a colon.
std::optional<std::string> field_value(std::string_view line, std::string_view key) {
  if (!line.starts_with(key)) return std::nullopt;
  const std::string_view rest = line.substr(key.size());
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos || !trim(rest.substr(0, colon)).empty()) return std::nullopt;
  return trim(rest.substr(colon + 1));
}

std::string hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

std::string kernel() {
  utsname u{};
  if (::uname(&u) != 0) return {};
  return std::string(u.release) + " " + u.version;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  return cpuinfo ? cpu_model_from_cpuinfo(cpuinfo) : std::string();
}

int online_cores() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 0;
}

uint64_t memory_bytes() {
  struct sysinfo info {};
  if (::sysinfo(&info) != 0) return 0;
  return static_cast<uint64_t>(info.totalram) * info.mem_unit;
}

bool has_library(const std::vector<LibraryVersion>& libraries, std::string_view name) {
  return std::any_of(libraries.begin(), libraries.end(),
                     [&](const LibraryVersion& l) { return l.name == name; });
}

}  // namespace

std::string cpu_model_from_cpuinfo(std::istream& cpuinfo) {
  std::string line;
  while (std::getline(cpuinfo, line))
    if (auto value = field_value(line, "model name")) return *value;
  return {};
}

std::optional<std::string> dpkg_package_version(std::string_view package,
                                                const std::string& status_file) {
  std::ifstream in(status_file);
  std::string line;
  // Paragraphs separated by blank lines, one per package.
  bool in_package = false, installed = false;
  std::optional<std::string> version;
  auto paragraph_result = [&]() { return in_package && installed ? version : std::nullopt; };
  while (std::getline(in, line)) {
    if (trim(line).empty()) {
      if (auto found = paragraph_result()) return found;
      in_package = installed = false;
      version.reset();
    } else if (auto name = field_value(line, "Package")) {
      in_package = *name == package;
    } else if (auto status = field_value(line, "Status")) {
      installed = status->ends_with(" installed");
    } else if (auto v = field_value(line, "Version")) {
      version = *v;
    }
  }
  return paragraph_result();
}

std::vector<LibraryVersion> collect_library_versions(
    const std::vector<const TransportInfo*>& transports, const std::string& dpkg_status_file) {
  std::vector<LibraryVersion> libraries;
  for (const TransportInfo* transport : transports) {
    if (!transport->library_versions) continue;
    for (auto& [name, version] : transport->library_versions())
      if (!has_library(libraries, name)) libraries.push_back({name, version});
  }
  for (const InstalledLibrary& lib : kInstalledLibraries) {
    if (has_library(libraries, lib.name)) continue;
    if (auto version = dpkg_package_version(lib.debian_package, dpkg_status_file))
      libraries.push_back({lib.name, *version});
  }
  return libraries;
}

HostInfo collect_host_info() {
  HostInfo host;
  host.hostname = hostname();
  host.kernel = kernel();
  host.cpu_model = cpu_model();
  host.cores = online_cores();
  host.memory_bytes = memory_bytes();
  host.libraries = collect_library_versions(TransportRegistry::instance().all(), kDpkgStatus);
  return host;
}

}  // namespace fb
