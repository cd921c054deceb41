#include "counters/counter_snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <tuple>

#include "bootstrap/unique_fd.h"

namespace fb {
namespace {

namespace fs = std::filesystem;

// hw_counters files that are settings, not counters: mlx5's "lifespan" is how many
// milliseconds the driver caches the values.
bool is_setting(const std::string& name) { return name == "lifespan"; }

// A counter file holds one unsigned decimal number. Read with one read(2): sysfs produces the
// whole attribute at once, and ifstream's buffering costs more than the file.
std::optional<uint64_t> read_counter(const fs::path& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  char text[64];
  const ssize_t n = ::read(fd.get(), text, sizeof text - 1);
  if (n <= 0) return std::nullopt;
  size_t end = static_cast<size_t>(n);
  while (end > 0 && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  uint64_t value = 0;
  const auto [stop, ec] = std::from_chars(text, text + end, value);
  if (ec != std::errc() || stop != text + end || end == 0) return std::nullopt;
  return value;
}

// Every counter in DIR; nullopt when DIR does not exist (the device has no such counters,
// as rxe has no ports/N/counters). A file that cannot be read or is not a number is absent.
std::optional<std::map<std::string, uint64_t>> read_counter_dir(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) return std::nullopt;
  std::map<std::string, uint64_t> values;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (is_setting(name)) continue;
    if (auto value = read_counter(it->path())) values.emplace(name, *value);
  }
  return values;
}

void add_dir(CounterSnapshot& snapshot, const fs::path& dir, std::string device, std::optional<int> port,
             std::string source, bool note_missing) {
  auto values = read_counter_dir(dir);
  if (!values) {
    if (note_missing) snapshot.notes.push_back(dir.string() + " cannot be read");
    return;
  }
  snapshot.sets.push_back({std::move(device), port, std::move(source), std::move(*values)});
}

auto key(const CounterSet& s) { return std::tie(s.source, s.device, s.port); }

}  // namespace

bool flow_control_counter(const std::string& name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find("pause") != std::string::npos || lower.find("pfc") != std::string::npos ||
         lower.find("prio") != std::string::npos;
}

CounterSnapshot take_snapshot(const CounterScope& scope) {
  CounterSnapshot snapshot;
  const fs::path ib = fs::path(scope.sysfs_root) / "class" / "infiniband";
  std::vector<std::string> devices_done;
  for (const RdmaPortRef& ref : scope.rdma_ports) {
    const fs::path port_dir = ib / ref.device / "ports" / std::to_string(ref.port);
    std::error_code ec;
    if (!fs::is_directory(port_dir, ec)) {
      snapshot.notes.push_back(port_dir.string() + " does not exist");
      continue;
    }
    // Drivers keep either or both: mlx5 both, rxe only hw_counters, older IB HCAs only counters.
    add_dir(snapshot, port_dir / "counters", ref.device, ref.port, "rdma-port", false);
    add_dir(snapshot, port_dir / "hw_counters", ref.device, ref.port, "rdma-hw", false);
    if (std::find(devices_done.begin(), devices_done.end(), ref.device) != devices_done.end()) continue;
    devices_done.push_back(ref.device);
    add_dir(snapshot, ib / ref.device / "hw_counters", ref.device, std::nullopt, "rdma-hw", false);
  }
  const fs::path net = fs::path(scope.sysfs_root) / "class" / "net";
  for (const std::string& netdev : scope.netdevs) {
    add_dir(snapshot, net / netdev / "statistics", netdev, std::nullopt, "netdev", true);
    if (!scope.ethtool) continue;
    if (auto stats = scope.ethtool(netdev); stats && !stats->empty())
      snapshot.sets.push_back({netdev, std::nullopt, "ethtool", std::move(*stats)});
  }
  return snapshot;
}

std::vector<CounterBlock> diff(const CounterSnapshot& before, const CounterSnapshot& after, const std::string& host) {
  std::vector<CounterBlock> blocks;
  for (const CounterSet& late : after.sets) {
    const auto early = std::find_if(before.sets.begin(), before.sets.end(),
                                    [&](const CounterSet& s) { return key(s) == key(late); });
    if (early == before.sets.end()) continue;
    CounterBlock block{host, late.device, late.port, late.source, {}, {}};
    for (const auto& [name, value] : late.values) {
      const auto was = early->values.find(name);
      if (was == early->values.end()) continue;
      if (value >= was->second) {
        block.deltas.emplace(name, value - was->second);
      } else {
        block.reset.push_back(name);
      }
    }
    if (!block.deltas.empty() || !block.reset.empty()) blocks.push_back(std::move(block));
  }
  return blocks;
}

}  // namespace fb
