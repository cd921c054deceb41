// Reading NIC and RDMA counters: which devices (CounterScope), one reading of all of them
// (take_snapshot) and the change between two readings (diff). Everything is read from files
// under a sysfs root ("/sys" on a live host, a made-up tree in tests) plus, for netdevs, the
// driver's ethtool statistics. Nothing here is an error for a run: what cannot be read is
// absent from the snapshot and named in its notes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "results/record.h"

namespace fb {

// A netdev's ethtool statistics by name, or nullopt when the driver has none to give.
using EthtoolStatsReader = std::function<std::optional<std::map<std::string, uint64_t>>(const std::string& netdev)>;

struct RdmaPortRef {
  std::string device;
  int port = 0;
  bool operator==(const RdmaPortRef&) const = default;
};

struct CounterScope {
  std::string sysfs_root = "/sys";
  std::vector<RdmaPortRef> rdma_ports;  // their port counters and hw_counters, plus the device's own hw_counters
  std::vector<std::string> netdevs;     // their statistics, and their ethtool flow-control counters
  // Null reads no ethtool statistics (a made-up sysfs tree has no live driver behind it).
  EthtoolStatsReader ethtool;
  std::string chosen_by;  // how the devices were chosen, for the reader of a surprising record
};

// One source of one device at one moment.
struct CounterSet {
  std::string device;
  std::optional<int> port;
  std::string source;  // as CounterBlock::source
  std::map<std::string, uint64_t> values;
  bool operator==(const CounterSet&) const = default;
};

struct CounterSnapshot {
  std::vector<CounterSet> sets;
  std::vector<std::string> notes;  // what could not be read, "sysfs/class/net/eth9/statistics does not exist"
};

CounterSnapshot take_snapshot(const CounterScope& scope);

// The blocks of a record for one host: for every set present in both snapshots, the counters
// present in both, as after - before. A counter present in only one snapshot (appeared or
// vanished, a device reset) has no delta; one that went backwards is listed in `reset`. Sets
// with nothing in common are left out.
std::vector<CounterBlock> diff(const CounterSnapshot& before, const CounterSnapshot& after, const std::string& host);

// The ethtool statistics of a live netdev (ETHTOOL_GSSET_INFO, ETHTOOL_GSTRINGS,
// ETHTOOL_GSTATS), kept only when flow_control_counter() says so; nullopt when the driver has
// none (lo, most virtual devices) or the interface does not exist.
std::optional<std::map<std::string, uint64_t>> read_ethtool_flow_control(const std::string& netdev);

// Pause frames and per-priority (PFC) counters: names containing "pause", "pfc" or "prio".
// The full ethtool -S of a 100G NIC holds thousands of per-queue counters that would swell
// every record; its byte, packet and error totals are in the netdev statistics already, and
// ECN and CNP counters in the RDMA hw_counters. Flow control is what only ethtool shows.
bool flow_control_counter(const std::string& name);

}  // namespace fb
