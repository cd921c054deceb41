// NIC and RDMA counters around each measurement, as a benchmark uses them:
//
//   CounterProbe probe = CounterProbe::for_rank(bootstrap, context.describe(), host);
//   for each record:
//     probe.before();                    // outside the timed loop
//     FB_TRY(bootstrap.barrier());       // nobody starts before the reading
//     ... measure ...
//     if (bootstrap.barrier().ok())      // everybody done before the reading
//       mine.counters = probe.after();
//     ship mine (with counters_to_json) to rank 0, which calls add_host_counters(record, ...)
//
// Each host is read once, by its lowest local rank; the other ranks' probes read nothing.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "counters/counter_scope.h"
#include "counters/counter_snapshot.h"
#include "fabricbench/transport/bootstrap.h"
#include "results/record.h"

namespace fb {

// One host's counter deltas over one measurement. `note` ("host: why") says why there are none on a host
// that was read (no sysfs, nothing readable); both are empty on ranks that do not read.
struct HostCounters {
  std::vector<CounterBlock> blocks;
  std::string note;
  bool operator==(const HostCounters&) const = default;
};

class CounterProbe {
 public:
  // The lowest local rank of each host reads the devices counter_scope() picks from the
  // transport's description; every other rank gets a probe that reads nothing.
  static CounterProbe for_rank(const Bootstrap& bootstrap, const std::map<std::string, std::string>& transport_details,
                               std::string host, const std::string& sysfs_root = "/sys");

  // A probe of SCOPE when `reads`, of nothing otherwise.
  CounterProbe(CounterScope scope, bool reads, std::string host);

  bool reads() const { return reads_; }
  const CounterScope& scope() const { return scope_; }

  void before();
  // The deltas since before(); empty on a probe that reads nothing, or when before() was not
  // called.
  HostCounters after();

 private:
  CounterScope scope_;
  bool reads_ = false;
  std::string host_;
  std::optional<CounterSnapshot> before_;
};

// For shipping to rank 0 inside a rank's result.
nlohmann::json counters_to_json(const HostCounters& counters);
Expected<HostCounters> host_counters_from_json(const nlohmann::json& j);

// Adds one host's blocks (and its note, "host: why") to a record.
void add_host_counters(Record& record, const HostCounters& counters);

}  // namespace fb
