#include "results/fabric_json.h"

#include <cmath>
#include <limits>

namespace fb {
namespace {

using nlohmann::json;

json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

double read_number(const json& v) {
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  return v.get<double>();
}

json latency_json(const LatencySummary& l) {
  return {{"min", number(l.min)},  {"p50", number(l.p50)},   {"p90", number(l.p90)},
          {"p99", number(l.p99)},  {"p999", number(l.p999)}, {"max", number(l.max)},
          {"mean", number(l.mean)}};
}

LatencySummary read_latency(const json& j) {
  return {read_number(j.at("min")), read_number(j.at("p50")), read_number(j.at("p90")),
          read_number(j.at("p99")), read_number(j.at("p999")), read_number(j.at("max")),
          read_number(j.at("mean"))};
}

json bandwidth_json(const Bandwidth& b) {
  return {{"gbytes_per_s", number(b.gbytes_per_s)}, {"gbits_per_s", number(b.gbits_per_s)}};
}

Bandwidth read_bandwidth(const json& j) {
  return {read_number(j.at("gbytes_per_s")), read_number(j.at("gbits_per_s"))};
}

json evidence_json(const FabricEvidence& e) {
  json j = {{"from", e.from}, {"to", e.to}, {"measured_gbits_per_s", number(e.measured_gbits)},
            {"expected_gbits_per_s", number(e.expected_gbits)}, {"median_gbits_per_s", number(e.median_gbits)}};
  if (e.retest_gbits) j["retest_gbits_per_s"] = number(*e.retest_gbits);
  return j;
}

FabricEvidence read_evidence(const json& j) {
  FabricEvidence e;
  e.from = j.at("from").get<std::string>();
  e.to = j.at("to").get<std::string>();
  e.measured_gbits = read_number(j.at("measured_gbits_per_s"));
  e.expected_gbits = read_number(j.at("expected_gbits_per_s"));
  e.median_gbits = read_number(j.at("median_gbits_per_s"));
  if (j.contains("retest_gbits_per_s")) e.retest_gbits = read_number(j.at("retest_gbits_per_s"));
  return e;
}

json suspects_json(const std::vector<FabricSuspect>& suspects) {
  json all = json::array();
  for (const auto& s : suspects) {
    json evidence = json::array();
    for (const auto& e : s.evidence) evidence.push_back(evidence_json(e));
    all.push_back({{"kind", s.kind}, {"subject", s.subject}, {"confidence", number(s.confidence)},
                   {"evidence", std::move(evidence)}});
  }
  return all;
}

std::vector<FabricSuspect> read_suspects(const json& j) {
  std::vector<FabricSuspect> out;
  for (const auto& s : j) {
    FabricSuspect suspect;
    suspect.kind = s.at("kind").get<std::string>();
    suspect.subject = s.at("subject").get<std::string>();
    suspect.confidence = read_number(s.at("confidence"));
    for (const auto& e : s.at("evidence")) suspect.evidence.push_back(read_evidence(e));
    out.push_back(std::move(suspect));
  }
  return out;
}

json matrix_json(const std::vector<std::vector<double>>& matrix) {
  json rows = json::array();
  for (const auto& row : matrix) {
    json cells = json::array();
    for (double v : row) cells.push_back(number(v));
    rows.push_back(std::move(cells));
  }
  return rows;
}

template <typename T, typename Read>
Expected<T> read_guarded(const json& j, const std::string& path, Read read) {
  try {
    if (!j.is_object()) throw std::invalid_argument("expected an object");
    return read(j);
  } catch (const std::exception& e) {
    return Status::error(StatusCode::kInvalidArgument, path + ": " + e.what(), FB_HERE);
  }
}

}  // namespace

json to_json(const SoakSummary& soak) {
  json intervals = json::array();
  for (const auto& i : soak.intervals)
    intervals.push_back({{"start_s", number(i.start_s)}, {"duration_s", number(i.duration_s)},
                         {"samples", i.samples}, {"bandwidth", bandwidth_json(i.bandwidth)},
                         {"latency_us", latency_json(i.latency_us)}, {"low", i.low}});
  json j = {{"interval_s", number(soak.interval_s)}, {"low_fraction", number(soak.low_fraction)},
            {"metric", soak.metric}, {"intervals", std::move(intervals)}, {"low_count", soak.low_count}};
  if (soak.worst >= 0) j["worst"] = soak.worst;
  return j;
}

json to_json(const IncastResult& incast) {
  json per_sender = json::array();
  for (const auto& b : incast.per_sender) per_sender.push_back(bandwidth_json(b));
  return {{"fan_in", incast.fan_in}, {"receiver", incast.receiver}, {"senders", incast.senders},
          {"per_sender", std::move(per_sender)}, {"aggregate", bandwidth_json(incast.aggregate)},
          {"jain_index", number(incast.jain_index)}, {"completion_us", latency_json(incast.completion_us)},
          {"flows", incast.flows}};
}

json to_json(const CongestionResult& c) {
  return {{"victim", {{"from", c.victim_from}, {"to", c.victim_to}}},
          {"load", c.load},
          {"isolated", {{"latency_p50_us", number(c.isolated_latency_us)}, {"gbits_per_s", number(c.isolated_gbits)}}},
          {"loaded", {{"latency_p50_us", number(c.loaded_latency_us)}, {"gbits_per_s", number(c.loaded_gbits)}}},
          {"latency_impact", number(c.latency_factor)},
          {"bandwidth_impact", number(c.bandwidth_factor)}};
}

json to_json(const FabricSummary& f) {
  json j = {{"test", f.test}, {"bytes", f.bytes}, {"metric", f.metric}, {"hosts", f.hosts},
            {"matrix", matrix_json(f.matrix)}, {"rounds", f.rounds}, {"elapsed_s", number(f.elapsed_s)},
            {"retested", f.retested}, {"suspects", suspects_json(f.suspects)},
            {"cleared", suspects_json(f.cleared)}};
  if (f.analysis) {
    const FabricAnalysis& a = *f.analysis;
    j["analysis"] = {{"median_gbits_per_s", number(a.median_gbits)},
                     {"deviation_gbits_per_s", number(a.deviation_gbits)},
                     {"slow_below_gbits_per_s", number(a.slow_below_gbits)},
                     {"efficiency", number(a.efficiency)},
                     {"measured_pairs", a.measured_pairs},
                     {"slow_pairs", a.slow_pairs}};
    if (a.expected_gbits) j["analysis"]["expected_gbits_per_s"] = number(*a.expected_gbits);
  }
  if (!f.analysis_note.empty()) j["analysis_note"] = f.analysis_note;
  return j;
}

Expected<SoakSummary> soak_from_json(const json& j, const std::string& path) {
  return read_guarded<SoakSummary>(j, path, [](const json& j) {
    SoakSummary s;
    s.interval_s = read_number(j.at("interval_s"));
    s.low_fraction = read_number(j.at("low_fraction"));
    s.metric = j.at("metric").get<std::string>();
    s.low_count = j.at("low_count").get<int>();
    if (j.contains("worst")) s.worst = j.at("worst").get<int>();
    for (const auto& i : j.at("intervals"))
      s.intervals.push_back({read_number(i.at("start_s")), read_number(i.at("duration_s")),
                             i.at("samples").get<uint64_t>(), read_bandwidth(i.at("bandwidth")),
                             read_latency(i.at("latency_us")), i.at("low").get<bool>()});
    return s;
  });
}

Expected<IncastResult> incast_from_json(const json& j, const std::string& path) {
  return read_guarded<IncastResult>(j, path, [](const json& j) {
    IncastResult r;
    r.fan_in = j.at("fan_in").get<int>();
    r.receiver = j.at("receiver").get<std::string>();
    r.senders = j.at("senders").get<std::vector<std::string>>();
    for (const auto& b : j.at("per_sender")) r.per_sender.push_back(read_bandwidth(b));
    r.aggregate = read_bandwidth(j.at("aggregate"));
    r.jain_index = read_number(j.at("jain_index"));
    r.completion_us = read_latency(j.at("completion_us"));
    r.flows = j.at("flows").get<uint64_t>();
    return r;
  });
}

Expected<CongestionResult> congestion_from_json(const json& j, const std::string& path) {
  return read_guarded<CongestionResult>(j, path, [](const json& j) {
    CongestionResult c;
    c.victim_from = j.at("victim").at("from").get<std::string>();
    c.victim_to = j.at("victim").at("to").get<std::string>();
    c.load = j.at("load").get<std::string>();
    c.isolated_latency_us = read_number(j.at("isolated").at("latency_p50_us"));
    c.isolated_gbits = read_number(j.at("isolated").at("gbits_per_s"));
    c.loaded_latency_us = read_number(j.at("loaded").at("latency_p50_us"));
    c.loaded_gbits = read_number(j.at("loaded").at("gbits_per_s"));
    c.latency_factor = read_number(j.at("latency_impact"));
    c.bandwidth_factor = read_number(j.at("bandwidth_impact"));
    return c;
  });
}

Expected<FabricSummary> fabric_from_json(const json& j, const std::string& path) {
  return read_guarded<FabricSummary>(j, path, [](const json& j) {
    FabricSummary f;
    f.test = j.at("test").get<std::string>();
    f.bytes = j.at("bytes").get<uint64_t>();
    f.metric = j.at("metric").get<std::string>();
    f.hosts = j.at("hosts").get<std::vector<std::string>>();
    for (const auto& row : j.at("matrix")) {
      std::vector<double> cells;
      for (const auto& v : row) cells.push_back(read_number(v));
      f.matrix.push_back(std::move(cells));
    }
    f.rounds = j.at("rounds").get<int>();
    f.elapsed_s = read_number(j.at("elapsed_s"));
    f.retested = j.at("retested").get<bool>();
    f.suspects = read_suspects(j.at("suspects"));
    f.cleared = read_suspects(j.at("cleared"));
    if (j.contains("analysis")) {
      const json& a = j.at("analysis");
      FabricAnalysis analysis;
      analysis.median_gbits = read_number(a.at("median_gbits_per_s"));
      analysis.deviation_gbits = read_number(a.at("deviation_gbits_per_s"));
      analysis.slow_below_gbits = read_number(a.at("slow_below_gbits_per_s"));
      analysis.efficiency = read_number(a.at("efficiency"));
      analysis.measured_pairs = a.at("measured_pairs").get<int>();
      analysis.slow_pairs = a.at("slow_pairs").get<int>();
      if (a.contains("expected_gbits_per_s")) analysis.expected_gbits = read_number(a.at("expected_gbits_per_s"));
      f.analysis = analysis;
    }
    if (j.contains("analysis_note")) f.analysis_note = j.at("analysis_note").get<std::string>();
    return f;
  });
}

}  // namespace fb
