#include "counters/counter_probe.h"

#include "results/json_io.h"

namespace fb {

CounterProbe CounterProbe::for_rank(const Bootstrap& bootstrap,
                                    const std::map<std::string, std::string>& transport_details, std::string host,
                                    const std::string& sysfs_root) {
  const bool reads = bootstrap.local_rank() == 0;
  CounterScope scope;
  if (reads) scope = counter_scope(sysfs_root, transport_details, bootstrap.local_size() == bootstrap.size());
  return CounterProbe(std::move(scope), reads, std::move(host));
}

CounterProbe::CounterProbe(CounterScope scope, bool reads, std::string host)
    : scope_(std::move(scope)), reads_(reads), host_(std::move(host)) {}

void CounterProbe::before() {
  if (reads_) before_ = take_snapshot(scope_);
}

HostCounters CounterProbe::after() {
  HostCounters out;
  if (!reads_ || !before_) return out;
  const CounterSnapshot now = take_snapshot(scope_);
  out.blocks = diff(*before_, now, host_);
  before_.reset();
  if (!out.blocks.empty()) return out;
  if (scope_.rdma_ports.empty() && scope_.netdevs.empty()) {
    out.note = host_ + ": no RDMA port and no netdev to read (" + scope_.chosen_by + ")";
  } else {
    out.note = host_ + ": no counters could be read";
    for (size_t i = 0; i < now.notes.size(); ++i) out.note += (i ? ", " : ": ") + now.notes[i];
  }
  return out;
}

nlohmann::json counters_to_json(const HostCounters& counters) {
  nlohmann::json blocks = nlohmann::json::array();
  for (const CounterBlock& block : counters.blocks) blocks.push_back(to_json(block));
  return {{"blocks", std::move(blocks)}, {"note", counters.note}};
}

Expected<HostCounters> host_counters_from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("blocks") || !j["blocks"].is_array() || !j.contains("note") ||
      !j["note"].is_string())
    return Status::error(StatusCode::kProtocol, "a rank sent malformed counters", FB_HERE);
  HostCounters out;
  out.note = j["note"].get<std::string>();
  for (const auto& block : j["blocks"]) {
    FB_TRY_ASSIGN(CounterBlock b, counter_block_from_json(block));
    out.blocks.push_back(std::move(b));
  }
  return out;
}

void add_host_counters(Record& record, const HostCounters& counters) {
  record.counters.insert(record.counters.end(), counters.blocks.begin(), counters.blocks.end());
  if (counters.note.empty()) return;
  record.counters_note += (record.counters_note.empty() ? "" : "; ") + counters.note;
}

}  // namespace fb
