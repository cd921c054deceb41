#include "runner/binding.h"

#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <vector>

namespace fb {
namespace {

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

// "0-3,8-11" as the kernel writes cpulists.
std::vector<int> parse_cpulist(const std::string& text) {
  std::vector<int> cpus;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(pos, end - pos);
    const size_t dash = part.find('-');
    try {
      const int first = std::stoi(part.substr(0, dash));
      const int last = dash == std::string::npos ? first : std::stoi(part.substr(dash + 1));
      for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    } catch (...) {
    }
    pos = end + 1;
  }
  return cpus;
}

std::vector<std::vector<int>> numa_nodes() {
  std::vector<std::vector<int>> nodes;
  for (int node = 0;; ++node) {
    std::ifstream in("/sys/devices/system/node/node" + std::to_string(node) + "/cpulist");
    if (!in) break;
    std::string line;
    std::getline(in, line);
    nodes.push_back(parse_cpulist(line));
  }
  return nodes;
}

Status apply(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0)
    return Status::from_errno(errno, "sched_setaffinity (use --bind none to skip pinning)", FB_HERE);
  return {};
}

}  // namespace

Expected<std::string> bind_local_rank(BindPolicy policy, int local_rank) {
  if (policy == BindPolicy::kNone) return std::string("none");
  const std::vector<int> cpus = allowed_cpus();
  if (cpus.empty()) return std::string("none (affinity unknown)");
  if (policy == BindPolicy::kCore) {
    const int cpu = cpus[static_cast<size_t>(local_rank) % cpus.size()];
    FB_TRY(apply({cpu}));
    return "core " + std::to_string(cpu);
  }
  const auto nodes = numa_nodes();
  if (nodes.empty()) return std::string("none (no NUMA information)");
  const size_t node = static_cast<size_t>(local_rank) % nodes.size();
  FB_TRY(apply(nodes[node]));
  return "numa " + std::to_string(node);
}

ProgressMode progress_mode_for(const CommonPlan& plan, int local_ranks) {
  if (!plan.progress_auto) return plan.transport_options.progress;
  // Online cores, not this process's affinity: a launcher that binds each rank to its own
  // core leaves one core in the mask, yet the ranks do not share it.
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 && local_ranks > cores ? ProgressMode::kYield : ProgressMode::kPoll;
}

}  // namespace fb
