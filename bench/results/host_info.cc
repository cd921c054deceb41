#include "results/host_info.h"

#include "info/inventory.h"

#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstdio>
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

// Every rank runs these while its peers wait in the exchange of host descriptions, so a wedged
// driver must not hold it past the bootstrap timeout; a healthy nvidia-smi answers in seconds
// even without persistence mode. stderr is discarded: a host without GPUs is normal.
constexpr const char* kNvidiaSmiGpus =
    "timeout 10 nvidia-smi --query-gpu=index,name,pci.bus_id,memory.total,driver_version,uuid "
    "--format=csv,noheader,nounits 2>/dev/null";
constexpr const char* kNvidiaSmiTopology = "timeout 10 nvidia-smi topo -m 2>/dev/null";
constexpr size_t kMaxCommandOutput = size_t{1} << 20;  // far above any real nvidia-smi output
constexpr uint64_t kMiB = uint64_t{1} << 20;

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

// stdout of a shell command, or nullopt when it cannot start, fails, or says too much: a
// failing nvidia-smi prints its complaint to stdout, so only a clean exit is believed.
std::optional<std::string> command_output(const char* command) {
  std::FILE* pipe = ::popen(command, "r");
  if (!pipe) return std::nullopt;
  std::string output;
  char buffer[4096];
  size_t n = 0;
  while (output.size() <= kMaxCommandOutput && (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (output.size() > kMaxCommandOutput) return std::nullopt;
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return output;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// nvidia-smi writes "[N/A]", "[Not Supported]" or "[Unknown Error]" for what it cannot read.
std::string known_value(std::string_view field) {
  std::string value = trim(field);
  return value.starts_with('[') && value.ends_with(']') ? std::string() : value;
}

template <typename T>
std::optional<T> whole_number(std::string_view text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool is_hex(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c); });
}

// "00000000:19:00.0": domain:bus:device.function, the domain as wide as nvidia-smi prints it.
bool is_pci_bus_id(std::string_view text) {
  const std::vector<std::string_view> parts = split(text, ':');
  if (parts.size() != 3 || !is_hex(parts[0]) || parts[1].size() != 2 || !is_hex(parts[1]))
    return false;
  const std::vector<std::string_view> device = split(parts[2], '.');
  return device.size() == 2 && device[0].size() == 2 && is_hex(device[0]) &&
         device[1].size() == 1 && is_hex(device[1]);
}

std::optional<GpuInfo> parse_gpu_line(std::string_view line) {
  const std::vector<std::string_view> raw = split(line, ',');
  std::vector<std::string> fields;
  for (std::string_view field : raw) fields.push_back(trim(field));
  // The name is the one free-text column and the csv is not quoted, so a comma in a name
  // would shift the columns: find the bus id instead of trusting its position.
  const auto bus = std::find_if(fields.begin() + std::min<size_t>(fields.size(), 2), fields.end(),
                                [](const std::string& f) { return is_pci_bus_id(f); });
  if (bus == fields.end()) return std::nullopt;
  const size_t bus_column = static_cast<size_t>(bus - fields.begin());
  const size_t after_bus = fields.size() - bus_column - 1;  // memory, driver[, uuid]
  if (after_bus != 2 && after_bus != 3) return std::nullopt;
  const std::optional<int> index = whole_number<int>(fields[0]);
  if (!index || *index < 0) return std::nullopt;
  GpuInfo gpu;
  gpu.index = *index;
  std::string name(raw[1]);
  for (size_t i = 2; i < bus_column; ++i) name.append(",").append(raw[i]);
  gpu.name = known_value(name);
  gpu.pci_bus_id = *bus;
  const std::string memory = known_value(fields[bus_column + 1]);
  if (!memory.empty()) {
    const std::optional<uint64_t> mib = whole_number<uint64_t>(memory);
    if (!mib) return std::nullopt;  // not the column we asked for: do not guess what it is
    gpu.memory_bytes = *mib * kMiB;
  }
  gpu.driver_version = known_value(fields[bus_column + 2]);
  if (after_bus == 3) gpu.uuid = known_value(fields[bus_column + 3]);
  return gpu;
}

// Removes ESC [ ... letter sequences: some nvidia-smi versions underline the matrix header.
std::string without_escapes(std::string_view line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\x1b') {
      out += line[i];
      continue;
    }
    if (i + 1 < line.size() && line[i + 1] == '[') {
      i += 2;
      while (i < line.size() && !std::isalpha(static_cast<unsigned char>(line[i]))) ++i;
    }
  }
  return out;
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

std::vector<GpuInfo> parse_nvidia_smi_gpus(std::string_view text) {
  std::vector<GpuInfo> gpus;
  for (std::string_view line : split(text, '\n'))
    if (auto gpu = parse_gpu_line(line)) gpus.push_back(std::move(*gpu));
  return gpus;
}

std::string gpu_topology_from_nvidia_smi(std::string_view text) {
  std::vector<std::string> lines;
  bool in_legend = false;
  for (std::string_view raw : split(text, '\n')) {
    std::string line = without_escapes(raw);
    line.erase(line.find_last_not_of(" \t\r") + 1);
    // "Legend:" starts the paragraph of link codes, indented; the next unindented line
    // ("NIC Legend:", naming NIC0.. as mlx5_0..) is worth keeping.
    if (line == "Legend:") {
      in_legend = true;
      continue;
    }
    if (in_legend) {
      if (line.empty() || line.front() == ' ' || line.front() == '\t') continue;
      in_legend = false;
    }
    if (line.empty() && (lines.empty() || lines.back().empty())) continue;
    lines.push_back(std::move(line));
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string topology;
  for (const std::string& line : lines) topology += (topology.empty() ? "" : "\n") + line;
  return topology;
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
  if (auto listing = command_output(kNvidiaSmiGpus)) host.gpus = parse_nvidia_smi_gpus(*listing);
  // A matrix without the GPUs it relates would describe nothing this document can name.
  if (!host.gpus.empty())
    if (auto matrix = command_output(kNvidiaSmiTopology))
      host.gpu_topology = gpu_topology_from_nvidia_smi(*matrix);
  host.cpu_layout = collect_cpu_layout("/sys");
  host.network_interfaces = collect_live_net_interfaces();
  host.rdma_devices = collect_rdma_devices("/sys");
  return host;
}

}  // namespace fb
