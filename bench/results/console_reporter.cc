#include "results/console_reporter.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <vector>

#include "results/run_info.h"

namespace fb {
namespace {

struct Column {
  const char* title;
  int width;
};

// Fixed widths: a row never shifts when a number grows by a digit, up to 10^6 us.
constexpr Column kBytes{"bytes", 12};
constexpr Column kIterations{"iterations", 11};
constexpr Column kLatency[] = {{"min[us]", 11},   {"p50[us]", 11}, {"p90[us]", 11}, {"p99[us]", 11},
                               {"p99.9[us]", 11}, {"max[us]", 11}, {"mean[us]", 11}};
constexpr Column kGBytes{"GB/s", 10};
constexpr Column kGBits{"Gb/s", 10};
constexpr Column kMmsg{"Mmsg/s", 10};
constexpr int kPairWidth = 24;  // "from -> to" of fabric sweeps, left-aligned

// The collective table, after nccl-tests: time is the slowest rank's mean per iteration.
constexpr Column kCount{"count", 12};
constexpr Column kType{"type", 6};
constexpr Column kRedop{"redop", 6};
constexpr Column kAlgorithm{"algorithm", 26};
constexpr Column kTime{"time[us]", 12};
constexpr Column kAlgbw{"algbw[GB/s]", 12};
constexpr Column kBusbw{"busbw[GB/s]", 12};
constexpr Column kWrong{"#wrong", 8};

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char text[512];
  va_list args;
  va_start(args, fmt);
  const int n = std::vsnprintf(text, sizeof text, fmt, args);
  va_end(args);
  return std::string(text, n < 0 ? 0 : std::min<size_t>(n, sizeof text - 1));
}

std::string cell(const Column& c, const std::string& text) {
  return format("%*s", c.width, text.c_str());
}

// A missing value (NaN from a reader, or never measured) shows as "-" rather than "nan".
std::string cell(const Column& c, double value, int decimals) {
  if (!std::isfinite(value)) return cell(c, "-");
  return format("%*.*f", c.width, decimals, value);
}

bool is_collective(const RecordIdentity& id) { return id.benchmark == "collective"; }

std::string collective_column_header() {
  std::string line = cell(kBytes, kBytes.title) + cell(kCount, kCount.title) + cell(kType, kType.title) +
                     cell(kRedop, kRedop.title) + "  " + format("%-*s", kAlgorithm.width, kAlgorithm.title) +
                     cell(kIterations, kIterations.title) + cell(kTime, kTime.title) +
                     cell(kAlgbw, kAlgbw.title) + cell(kBusbw, kBusbw.title) + cell(kWrong, kWrong.title);
  line[0] = '#';
  return line;
}

std::string collective_row(const Record& r) {
  const std::string count = r.collective ? std::to_string(r.collective->count) : "-";
  std::string line = cell(kBytes, std::to_string(r.id.bytes)) + cell(kCount, count) +
                     cell(kType, r.id.dtype.value_or("-")) + cell(kRedop, r.id.reduce_op.value_or("-")) + "  " +
                     format("%-*s", kAlgorithm.width, r.id.algorithm.value_or("-").c_str());
  if (r.status == RecordStatus::kSkipped) return line + "  skipped: " + r.reason;
  line += cell(kIterations, std::to_string(r.iterations));
  if (r.collective) {
    const CollectiveResult& c = *r.collective;
    line += cell(kTime, c.time_us, 2) + cell(kAlgbw, c.algbw_gbytes_per_s, 3) + cell(kBusbw, c.busbw_gbytes_per_s, 3) +
            cell(kWrong, c.checked ? std::to_string(c.wrong) : std::string("N/A"));
  }
  if (r.status == RecordStatus::kFailed) line += "  FAILED: " + r.reason;
  return line;
}

bool is_pair(const RecordIdentity& id) { return id.from_host.has_value(); }

std::string pair_cell(const RecordIdentity& id) {
  return format("  %-*s", kPairWidth, (id.from_host.value_or("") + " -> " + id.to_host.value_or("")).c_str());
}

std::string column_header(bool pairs) {
  std::string line = (pairs ? format("  %-*s", kPairWidth, "pair") : std::string()) + cell(kBytes, kBytes.title) +
                     cell(kIterations, kIterations.title);
  for (const Column& c : kLatency) line += cell(c, c.title);
  line += cell(kGBytes, kGBytes.title) + cell(kGBits, kGBits.title) + cell(kMmsg, kMmsg.title);
  line[0] = '#';  // the bytes column is wider than its title, so this overwrites a space
  return line;
}

// What the latency columns measure depends on the test; say so above them.
const char* latency_meaning(const std::string& test) {
  if (test == "latency") return "one-way latency (half the round trip)";
  if (test.find("bw") != std::string::npos || test == "msgrate")
    return "time per window of messages";
  return "time per operation";
}

std::string hosts_line(const std::vector<HostInfo>& hosts) {
  constexpr size_t kNamedHosts = 4;  // past this a list is noise; the JSON has them all
  if (hosts.size() > kNamedHosts) return "# hosts: " + std::to_string(hosts.size());
  std::string line = "# hosts:";
  for (const HostInfo& h : hosts) line += " " + h.hostname;
  return line;
}

// "0-7 NVIDIA H100 80GB HBM3 (driver 550.54.15)": a run of consecutive, identical GPUs is one
// entry, so an eight-GPU host stays short enough to share a line with three others.
std::string host_gpus(const std::vector<GpuInfo>& gpus) {
  if (gpus.empty()) return "none";
  std::string text;
  for (size_t first = 0, last = 0; first < gpus.size(); first = last + 1) {
    last = first;
    while (last + 1 < gpus.size() && gpus[last + 1].index == gpus[last].index + 1 &&
           gpus[last + 1].name == gpus[first].name &&
           gpus[last + 1].driver_version == gpus[first].driver_version)
      ++last;
    const GpuInfo& gpu = gpus[first];
    if (!text.empty()) text.append(", ");
    text.append(std::to_string(gpu.index));
    if (last > first) text.append("-").append(std::to_string(gpus[last].index));
    text.append(" ").append(gpu.name.empty() ? std::string("unnamed GPU") : gpu.name);
    if (!gpu.driver_version.empty())
      text.append(" (driver ").append(gpu.driver_version).append(")");
  }
  return text;
}

// Only for runs that saw a GPU; a host without any says "none", as a mixed cluster is news.
std::optional<std::string> gpus_line(const std::vector<HostInfo>& hosts) {
  constexpr size_t kNamedHosts = 4;  // as for hosts_line
  size_t gpus = 0, hosts_with_gpus = 0;
  for (const HostInfo& h : hosts) {
    gpus += h.gpus.size();
    hosts_with_gpus += h.gpus.empty() ? 0 : 1;
  }
  if (gpus == 0) return std::nullopt;
  if (hosts.size() > kNamedHosts)
    return "# gpus: " + std::to_string(gpus) + " on " + std::to_string(hosts_with_gpus) + " of " +
           std::to_string(hosts.size()) + " hosts";
  std::string line = "# gpus:";
  for (size_t i = 0; i < hosts.size(); ++i)
    line += (i == 0 ? " " : "; ") + hosts[i].hostname + ": " + host_gpus(hosts[i].gpus);
  return line;
}

// Rows of one block share everything but the size; collective rows also show their data
// type, reduce op and algorithm (the MPI reference included), as nccl-tests does.
// Fabric sweeps show each pair as a column of one block.
std::string soak_line(const SoakSummary& soak) {
  std::string line = format("#   soak: %zu intervals of %g s, %d low", soak.intervals.size(), soak.interval_s, soak.low_count);
  if (soak.worst < 0) return line;
  const IntervalSummary& w = soak.intervals[soak.worst];
  if (soak.metric == "latency_p50")
    return line + format(", worst at %.1f s: p50 %.2f us", w.start_s, w.latency_us.p50);
  return line + format(", worst at %.1f s: %.3f GB/s", w.start_s, w.bandwidth.gbytes_per_s);
}

std::string incast_line(const IncastResult& in) {
  return format("#   incast: %d -> %s: %.3f Gb/s in all, Jain %.3f, flow completion p50 %.1f us p99 %.1f us",
                in.fan_in, in.receiver.c_str(), in.aggregate.gbits_per_s, in.jain_index, in.completion_us.p50,
                in.completion_us.p99);
}

std::string congestion_line(const CongestionResult& c) {
  return format("#   congestion (%s load): victim %s -> %s latency p50 %.2f -> %.2f us (x%.2f), %.3f -> %.3f Gb/s (x%.2f)",
                c.load.c_str(), c.victim_from.c_str(), c.victim_to.c_str(), c.isolated_latency_us, c.loaded_latency_us,
                c.latency_factor, c.isolated_gbits, c.loaded_gbits, c.bandwidth_factor);
}

RecordIdentity block_of(RecordIdentity id) {
  id.bytes = 0;
  if (is_pair(id)) {
    id.from_host = "";
    id.to_host = "";
    id.ranks = 0;
  }
  if (is_collective(id)) {
    id.dtype.reset();
    id.reduce_op.reset();
    id.algorithm.reset();
    id.op.clear();
    id.transport.clear();
    id.transport_options.clear();
  }
  return id;
}

}  // namespace

void ConsoleReporter::print_line(const std::string& line) {
  std::fputs(line.c_str(), out_);
  std::fputc('\n', out_);
}

void ConsoleReporter::begin(const RunInfo& run, const RecordIdentity& first) {
  run_ = run;
  print_line("# fabricbench " + run.tool_version + " (" + run.git_sha + "), started " +
             run.start_time);
  if (!run.hosts.empty()) print_line(hosts_line(run.hosts));
  if (auto gpus = gpus_line(run.hosts)) print_line(*gpus);
  identity_block(first);
  std::fflush(out_);
}

void ConsoleReporter::identity_block(const RecordIdentity& id) {
  if (block_) print_line("#");
  block_ = block_of(id);
  std::string line = "# benchmark: ";
  if (is_collective(id)) {
    for (const std::string& part : {id.test, "  transport: " + id.transport,
                                    "  ranks: " + std::to_string(id.ranks), "  memory: " + id.memory})
      line += part;
  } else {
    for (const std::string& part :
         {id.benchmark, "  test: " + id.test, "  op: " + id.op, "  transport: " + id.transport,
          "  ranks: " + std::to_string(id.ranks), "  memory: " + id.memory})
      line += part;
  }
  if (!is_collective(id)) {
    if (id.dtype) line += "  dtype: " + *id.dtype;
    if (id.reduce_op) line += "  reduce: " + *id.reduce_op;
    if (id.algorithm) line += "  algorithm: " + *id.algorithm;
  }
  print_line(line);
  if (!id.transport_options.empty()) {
    std::string options = "# transport options:";
    for (const auto& [key, value] : id.transport_options) options += " " + key + "=" + value;
    print_line(options);
  }
  auto iterations = run_.plan.find("iterations");
  auto warmup = run_.plan.find("warmup");
  if (iterations != run_.plan.end() || warmup != run_.plan.end()) {
    std::string counts = "#";
    auto add = [&counts](const char* name, const std::string& value) {
      counts.append(counts.size() > 1 ? "  " : " ").append(name).append(": ").append(value);
    };
    if (iterations != run_.plan.end()) add("iterations", iterations->second);
    if (warmup != run_.plan.end()) add("warmup", warmup->second);
    print_line(counts);
  }
  if (is_collective(id)) {
    print_line("# time: mean per iteration of the slowest rank; busbw = algbw x bus factor (nccl-tests)");
    print_line(collective_column_header());
    return;
  }
  print_line(std::string("# latency columns: ") + latency_meaning(id.test) + ", microseconds");
  print_line(column_header(is_pair(id)));
}

void ConsoleReporter::row(const Record& r) {
  if (!block_ || *block_ != block_of(r.id)) identity_block(r.id);
  ++rows_;
  if (r.status == RecordStatus::kFailed) ++failed_rows_;
  if (is_collective(r.id)) {
    print_line(collective_row(r));
    std::fflush(out_);
    return;
  }
  std::string line = (is_pair(r.id) ? pair_cell(r.id) : std::string()) + cell(kBytes, std::to_string(r.id.bytes)) +
                     cell(kIterations, std::to_string(r.iterations));
  if (r.status == RecordStatus::kSkipped) {
    line += "  skipped: " + r.reason;
  } else if (r.status == RecordStatus::kFailed) {
    line += "  FAILED: " + r.reason;
  } else {
    const LatencySummary& l = r.latency_us;
    const double latencies[] = {l.min, l.p50, l.p90, l.p99, l.p999, l.max, l.mean};
    for (size_t i = 0; i < std::size(kLatency); ++i) line += cell(kLatency[i], latencies[i], 2);
    line += cell(kGBytes, r.bandwidth.gbytes_per_s, 2) + cell(kGBits, r.bandwidth.gbits_per_s, 2) +
            cell(kMmsg, r.msg_rate / 1e6, 3);
  }
  print_line(line);
  if (r.soak) print_line(soak_line(*r.soak));
  if (r.incast) print_line(incast_line(*r.incast));
  if (r.congestion) print_line(congestion_line(*r.congestion));
  std::fflush(out_);  // a person watching a long sweep sees each size as it finishes
}

void ConsoleReporter::end(const RunInfo& run, const std::string& json_path) {
  // The run given here may not be completed yet (the writer completes its own copy), so a
  // failed row fails the run on screen too, as it does in the document.
  std::string error = run.error;
  if (error.empty() && failed_rows_ > 0) error = failed_records_error(failed_rows_, rows_);
  if (run.outcome == "failed" || failed_rows_ > 0)
    print_line("# run failed" + (error.empty() ? std::string() : ": " + error));
  if (!json_path.empty()) print_line("# results: " + json_path);
  std::fflush(out_);
}

}  // namespace fb
