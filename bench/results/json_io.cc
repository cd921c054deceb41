#include "results/json_io.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "results/fabric_json.h"

namespace fb {
namespace {

using nlohmann::json;

// ---- writing ---------------------------------------------------------------------------

// JSON has no NaN or infinity; null says "no value" without breaking strict parsers.
json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json latency_json(const LatencySummary& l) {
  return {{"min", number(l.min)},  {"p50", number(l.p50)},   {"p90", number(l.p90)},
          {"p99", number(l.p99)},  {"p999", number(l.p999)}, {"max", number(l.max)},
          {"mean", number(l.mean)}};
}

json bandwidth_json(const Bandwidth& b) {
  return {{"gbytes_per_s", number(b.gbytes_per_s)}, {"gbits_per_s", number(b.gbits_per_s)}};
}

json identity_json(const RecordIdentity& id) {
  json j = {{"benchmark", id.benchmark},
            {"test", id.test},
            {"op", id.op},
            {"transport", id.transport},
            {"transport_options", json::object()},
            {"memory", id.memory},
            {"ranks", id.ranks},
            {"bytes", id.bytes}};
  for (const auto& [key, value] : id.transport_options) j["transport_options"][key] = value;
  if (id.dtype) j["dtype"] = *id.dtype;
  if (id.reduce_op) j["reduce_op"] = *id.reduce_op;
  if (id.algorithm) j["algorithm"] = *id.algorithm;
  if (id.from_host && id.to_host) j["pair"] = {{"from", *id.from_host}, {"to", *id.to_host}};
  return j;
}

json rank_json(const RankSummary& r) {
  json j = {{"rank", r.rank},
            {"host", r.host},
            {"iterations", r.iterations},
            {"elapsed_s", number(r.elapsed_s)},
            {"latency_us", latency_json(r.latency_us)},
            {"bandwidth", bandwidth_json(r.bandwidth)},
            {"msg_rate", number(r.msg_rate)}};
  if (!r.role.empty()) j["role"] = r.role;
  if (r.peer >= 0) j["peer"] = r.peer;
  return j;
}

json samples_json(const Record& r) {
  json values = json::array();
  for (double v : r.samples_us) values.push_back(number(v));
  return {{"unit", r.sample_unit},
          {"values_us", std::move(values)},
          {"total", r.samples_total},
          {"cap", r.samples_cap}};
}

json collective_json(const CollectiveResult& c) {
  json j = {{"count", c.count},
            {"bytes_requested", c.bytes_requested},
            {"time_us", number(c.time_us)},
            {"algbw_gbytes_per_s", number(c.algbw_gbytes_per_s)},
            {"busbw_gbytes_per_s", number(c.busbw_gbytes_per_s)},
            {"checked", c.checked},
            {"wrong", c.wrong},
            {"slowest_rank", c.slowest_rank}};
  if (c.device_time_us) j["device_time_us"] = number(*c.device_time_us);
  return j;
}

json gpu_json(const GpuInfo& g) {
  json j = {{"index", g.index},
            {"name", g.name},
            {"pci_bus_id", g.pci_bus_id},
            {"memory_bytes", g.memory_bytes},
            {"driver_version", g.driver_version}};
  if (!g.uuid.empty()) j["uuid"] = g.uuid;
  return j;
}

json plan_json(const std::map<std::string, std::string>& plan) {
  json j = json::object();  // an empty plan is {} rather than null
  for (const auto& [key, value] : plan) j[key] = value;
  return j;
}

// ---- reading ---------------------------------------------------------------------------

std::string type_name(const json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "number";
  return v.type_name();
}

// path is empty for the value being read as a whole; callers name it ("document", "record").
Status invalid(const std::string& path, std::string_view what) {
  std::string message = path.empty() ? std::string(what) : path + ": " + std::string(what);
  return Status::error(StatusCode::kInvalidArgument, std::move(message), FB_HERE);
}

Status wrong_type(const std::string& path, std::string_view expected, const json& got) {
  return invalid(path, "expected " + std::string(expected) + ", got " + type_name(got));
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// Every reader, declared up front so the vector reader below finds them all.
Status read_value(const json& v, const std::string& path, std::string& out);
Status read_value(const json& v, const std::string& path, std::optional<std::string>& out);
Status read_value(const json& v, const std::string& path, uint64_t& out);
Status read_value(const json& v, const std::string& path, int& out);
Status read_value(const json& v, const std::string& path, double& out);
Status read_value(const json& v, const std::string& path, std::optional<double>& out);
Status read_value(const json& v, const std::string& path, std::map<std::string, std::string>& out);
Status read_value(const json& v, const std::string& path, RecordStatus& out);
Status read_value(const json& v, const std::string& path, RecordIdentity& out);
Status read_value(const json& v, const std::string& path, LatencySummary& out);
Status read_value(const json& v, const std::string& path, Bandwidth& out);
Status read_value(const json& v, const std::string& path, RankSummary& out);
Status read_value(const json& v, const std::string& path, CollectiveResult& out);
Status read_value(const json& v, const std::string& path, bool& out);
Status read_value(const json& v, const std::string& path, std::optional<CollectiveResult>& out);
Status read_value(const json& v, const std::string& path, Record& out);
Status read_value(const json& v, const std::string& path, LibraryVersion& out);
Status read_value(const json& v, const std::string& path, GpuInfo& out);
Status read_value(const json& v, const std::string& path, HostInfo& out);

Status read_value(const json& v, const std::string& path, std::string& out) {
  if (!v.is_string()) return wrong_type(path, "a string", v);
  out = v.get<std::string>();
  return ok_status();
}

Status read_value(const json& v, const std::string& path, std::optional<std::string>& out) {
  std::string text;
  FB_TRY(read_value(v, path, text));
  out = std::move(text);
  return ok_status();
}

Status read_value(const json& v, const std::string& path, uint64_t& out) {
  // Parsed JSON holds 8 as unsigned, but JSON built in code (j["n"] = 8) holds it as signed.
  if (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0)
    return invalid(path, "expected a non-negative integer, got " + v.dump());
  if (!v.is_number_integer()) return wrong_type(path, "a non-negative integer", v);
  out = v.is_number_unsigned() ? v.get<uint64_t>() : static_cast<uint64_t>(v.get<int64_t>());
  return ok_status();
}

Status read_value(const json& v, const std::string& path, int& out) {
  if (!v.is_number_integer()) return wrong_type(path, "an integer", v);
  const int64_t wide = v.is_number_unsigned()
                           ? static_cast<int64_t>(std::min<uint64_t>(v.get<uint64_t>(), INT64_MAX))
                           : v.get<int64_t>();
  if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max())
    return invalid(path, "integer out of range");
  out = static_cast<int>(wide);
  return ok_status();
}

Status read_value(const json& v, const std::string& path, double& out) {
  if (v.is_null()) {  // written for NaN or infinity
    out = std::numeric_limits<double>::quiet_NaN();
    return ok_status();
  }
  if (!v.is_number()) return wrong_type(path, "a number or null", v);
  out = v.get<double>();
  return ok_status();
}

Status read_value(const json& v, const std::string& path, std::optional<double>& out) {
  double number = 0;
  FB_TRY(read_value(v, path, number));
  out = number;
  return ok_status();
}

Status read_value(const json& v, const std::string& path, std::map<std::string, std::string>& out) {
  if (!v.is_object()) return wrong_type(path, "an object of strings", v);
  out.clear();
  for (const auto& [key, value] : v.items()) FB_TRY(read_value(value, join(path, key), out[key]));
  return ok_status();
}

template <typename T>
Status read_value(const json& v, const std::string& path, std::vector<T>& out) {
  if (!v.is_array()) return wrong_type(path, "an array", v);
  out.assign(v.size(), T{});
  for (size_t i = 0; i < v.size(); ++i)
    FB_TRY(read_value(v[i], path + "[" + std::to_string(i) + "]", out[i]));
  return ok_status();
}

// An object being read: required and optional members, with their paths for errors.
class ObjectReader {
 public:
  ObjectReader(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

  Status check() const { return j_.is_object() ? ok_status() : wrong_type(path_, "an object", j_); }
  bool has(std::string_view key) const { return j_.contains(key); }

  template <typename T>
  Status required(std::string_view key, T& out) const {
    auto it = j_.find(key);
    if (it == j_.end()) return invalid(join(path_, key), "required field is missing");
    return read_value(*it, join(path_, key), out);
  }

  // Leaves out unchanged when the key is absent.
  template <typename T>
  Status optional(std::string_view key, T& out) const {
    auto it = j_.find(key);
    if (it == j_.end()) return ok_status();
    return read_value(*it, join(path_, key), out);
  }

  // Required when `needed`, optional otherwise.
  template <typename T>
  Status member(std::string_view key, T& out, bool needed) const {
    return needed ? required(key, out) : optional(key, out);
  }

  const std::string& path() const { return path_; }

 private:
  const json& j_;
  std::string path_;
};

Status read_value(const json& v, const std::string& path, LatencySummary& out) {
  ObjectReader o(v, path);
  FB_TRY(o.check());
  FB_TRY(o.required("min", out.min));
  FB_TRY(o.required("p50", out.p50));
  FB_TRY(o.required("p90", out.p90));
  FB_TRY(o.required("p99", out.p99));
  FB_TRY(o.required("p999", out.p999));
  FB_TRY(o.required("max", out.max));
  return o.required("mean", out.mean);
}

Status read_value(const json& v, const std::string& path, Bandwidth& out) {
  ObjectReader o(v, path);
  FB_TRY(o.check());
  FB_TRY(o.required("gbytes_per_s", out.gbytes_per_s));
  return o.required("gbits_per_s", out.gbits_per_s);
}

Status read_value(const json& v, const std::string& path, RecordStatus& out) {
  std::string text;
  FB_TRY(read_value(v, path, text));
  for (RecordStatus status : {RecordStatus::kOk, RecordStatus::kSkipped, RecordStatus::kFailed}) {
    if (text != to_string(status)) continue;
    out = status;
    return ok_status();
  }
  return invalid(path, "expected \"ok\", \"skipped\" or \"failed\", got \"" + text + "\"");
}

Status read_value(const json& v, const std::string& path, RecordIdentity& out) {
  ObjectReader o(v, path);
  FB_TRY(o.check());
  FB_TRY(o.required("benchmark", out.benchmark));
  FB_TRY(o.required("test", out.test));
  FB_TRY(o.required("op", out.op));
  FB_TRY(o.required("transport", out.transport));
  FB_TRY(o.required("transport_options", out.transport_options));
  FB_TRY(o.required("memory", out.memory));
  FB_TRY(o.required("ranks", out.ranks));
  FB_TRY(o.required("bytes", out.bytes));
  FB_TRY(o.optional("dtype", out.dtype));
  FB_TRY(o.optional("reduce_op", out.reduce_op));
  if (auto pair = v.find("pair"); pair != v.end()) {
    ObjectReader p(*pair, join(path, "pair"));
    FB_TRY(p.check());
    FB_TRY(p.required("from", out.from_host));
    FB_TRY(p.required("to", out.to_host));
  }
  return o.optional("algorithm", out.algorithm);
}

Status read_value(const json& v, const std::string& path, RankSummary& out) {
  ObjectReader o(v, path);
  FB_TRY(o.check());
  FB_TRY(o.required("rank", out.rank));
  FB_TRY(o.required("host", out.host));
  FB_TRY(o.optional("role", out.role));
  FB_TRY(o.optional("peer", out.peer));
  FB_TRY(o.required("iterations", out.iterations));
  FB_TRY(o.required("elapsed_s", out.elapsed_s));
  FB_TRY(o.required("latency_us", out.latency_us));
  FB_TRY(o.required("bandwidth", out.bandwidth));
  return o.required("msg_rate", out.msg_rate);
}

Status read_value(const json& v, const std::string& path, bool& out) {
  if (!v.is_boolean()) return wrong_type(path, "true or false", v);
  out = v.get<bool>();
  return ok_status();
}

Status read_value(const json& v, const std::string& path, CollectiveResult& out) {
  ObjectReader o(v, path);
  FB_TRY(o.check());
  FB_TRY(o.required("count", out.count));
  FB_TRY(o.required("bytes_requested", out.bytes_requested));
  FB_TRY(o.required("time_us", out.time_us));
  FB_TRY(o.required("algbw_gbytes_per_s", out.algbw_gbytes_per_s));
  FB_TRY(o.required("busbw_gbytes_per_s", out.busbw_gbytes_per_s));
  FB_TRY(o.required("checked", out.checked));
  FB_TRY(o.required("wrong", out.wrong));
  FB_TRY(o.required("slowest_rank", out.slowest_rank));
  return o.optional("device_time_us", out.device_time_us);
}

Status read_value(const json& v, const std::string& path, std::optional<CollectiveResult>& out) {
  CollectiveResult result;
  FB_TRY(read_value(v, path, result));
  out = result;
  return ok_status();
}

Status read_samples(const json& v, const std::string& path, Record& out) {
  ObjectReader o(v, path);
  FB_TRY(o.check());
  FB_TRY(o.required("unit", out.sample_unit));
  FB_TRY(o.required("values_us", out.samples_us));
  FB_TRY(o.required("total", out.samples_total));
  return o.required("cap", out.samples_cap);
}

// Soak, incast and congestion blocks (since 1.4), each optional.
Status read_fabric_parts(const json& v, const std::string& path, Record& out) {
  if (auto it = v.find("soak"); it != v.end()) {
    FB_TRY_ASSIGN(out.soak, soak_from_json(*it, join(path, "soak")));
  }
  if (auto it = v.find("incast"); it != v.end()) {
    FB_TRY_ASSIGN(out.incast, incast_from_json(*it, join(path, "incast")));
  }
  if (auto it = v.find("congestion"); it != v.end()) {
    FB_TRY_ASSIGN(out.congestion, congestion_from_json(*it, join(path, "congestion")));
  }
  return ok_status();
}

Status read_record(const json& v, const std::string& path, Record& out) {
  ObjectReader o(v, path);
  FB_TRY(o.check());
  FB_TRY(o.required("identity", out.id));
  FB_TRY(o.required("status", out.status));
  const bool ok = out.status == RecordStatus::kOk;
  // A skipped or failed record carries its reason instead of numbers.
  FB_TRY(o.member("reason", out.reason, !ok));
  FB_TRY(o.member("iterations", out.iterations, ok));
  FB_TRY(o.member("warmup", out.warmup, ok));
  FB_TRY(o.member("window", out.window, ok));
  FB_TRY(o.member("latency_us", out.latency_us, ok));
  FB_TRY(o.member("bandwidth", out.bandwidth, ok));
  FB_TRY(o.member("msg_rate", out.msg_rate, ok));
  if (ok || o.has("samples")) {
    auto it = v.find("samples");
    if (it == v.end()) return invalid(join(path, "samples"), "required field is missing");
    FB_TRY(read_samples(*it, join(path, "samples"), out));
  }
  FB_TRY(o.member("per_rank", out.per_rank, ok));
  FB_TRY(o.optional("collective", out.collective));
  FB_TRY(read_fabric_parts(v, path, out));
  Status consistent = check_record(out);
  if (!consistent.ok()) return invalid(path, consistent.message());
  return ok_status();
}

Status read_value(const json& v, const std::string& path, Record& out) {
  return read_record(v, path, out);
}

Status read_value(const json& v, const std::string& path, LibraryVersion& out) {
  ObjectReader o(v, path);
  FB_TRY(o.check());
  FB_TRY(o.required("name", out.name));
  return o.required("version", out.version);
}

Status read_value(const json& v, const std::string& path, GpuInfo& out) {
  ObjectReader o(v, path);
  FB_TRY(o.check());
  FB_TRY(o.required("index", out.index));
  FB_TRY(o.required("name", out.name));
  FB_TRY(o.required("pci_bus_id", out.pci_bus_id));
  FB_TRY(o.required("memory_bytes", out.memory_bytes));
  FB_TRY(o.required("driver_version", out.driver_version));
  return o.optional("uuid", out.uuid);
}

Status read_value(const json& v, const std::string& path, HostInfo& out) {
  ObjectReader o(v, path);
  FB_TRY(o.check());
  FB_TRY(o.required("hostname", out.hostname));
  FB_TRY(o.required("kernel", out.kernel));
  FB_TRY(o.required("cpu_model", out.cpu_model));
  FB_TRY(o.required("cores", out.cores));
  FB_TRY(o.required("memory_bytes", out.memory_bytes));
  FB_TRY(o.required("libraries", out.libraries));
  FB_TRY(o.optional("gpus", out.gpus));  // since 1.2
  return o.optional("gpu_topology", out.gpu_topology);
}

// The plan is open-ended: values that are not strings are kept as their JSON text.
Status read_plan(const json& v, const std::string& path, std::map<std::string, std::string>& out) {
  if (!v.is_object()) return wrong_type(path, "an object", v);
  out.clear();
  for (const auto& [key, value] : v.items())
    out[key] = value.is_string() ? value.get<std::string>() : value.dump();
  return ok_status();
}

Status read_schema_version(const json& v, std::string& out) {
  FB_TRY(read_value(v, "schema_version", out));
  const std::string major = out.substr(0, out.find('.'));
  if (major != std::to_string(kResultsSchemaMajor) || out.find('.') == std::string::npos)
    return invalid("schema_version", "version \"" + out +
                                         "\" is not readable by this build (reads " +
                                         std::to_string(kResultsSchemaMajor) + ".x)");
  return ok_status();
}

Status read_tool(const json& v, RunInfo& run) {
  ObjectReader o(v, "tool");
  FB_TRY(o.check());
  std::string name;
  FB_TRY(o.required("name", name));
  FB_TRY(o.required("version", run.tool_version));
  return o.required("git_sha", run.git_sha);
}

Status read_document(const json& v, ResultDocument& out) {
  ObjectReader o(v, "");
  FB_TRY(o.check());
  auto version = v.find("schema_version");
  if (version == v.end()) return invalid("schema_version", "required field is missing");
  FB_TRY(read_schema_version(*version, out.schema_version));  // first: it decides the rest
  if (!v.contains("tool")) return invalid("tool", "required field is missing");
  FB_TRY(read_tool(v["tool"], out.run));
  FB_TRY(o.required("command_line", out.run.command_line));
  FB_TRY(o.required("start_time", out.run.start_time));
  FB_TRY(o.required("end_time", out.run.end_time));
  FB_TRY(o.required("benchmark", out.run.benchmark));
  if (!v.contains("plan")) return invalid("plan", "required field is missing");
  FB_TRY(read_plan(v["plan"], "plan", out.run.plan));
  FB_TRY(o.required("hosts", out.run.hosts));
  FB_TRY(o.required("outcome", out.run.outcome));
  if (out.run.outcome != "ok" && out.run.outcome != "failed")
    return invalid("outcome", "expected \"ok\" or \"failed\", got \"" + out.run.outcome + "\"");
  FB_TRY(o.member("error", out.run.error, out.run.outcome == "failed"));
  if (auto it = v.find("fabric"); it != v.end()) {
    FB_TRY_ASSIGN(out.run.fabric, fabric_from_json(*it, "fabric"));
  }
  return o.required("records", out.records);
}

}  // namespace

std::string_view to_string(RecordStatus status) {
  switch (status) {
    case RecordStatus::kOk:
      return "ok";
    case RecordStatus::kSkipped:
      return "skipped";
    case RecordStatus::kFailed:
      return "failed";
  }
  return "failed";
}

nlohmann::json to_json(const Record& r) {
  json j = {{"identity", identity_json(r.id)},
            {"status", to_string(r.status)},
            {"iterations", r.iterations},
            {"warmup", r.warmup},
            {"window", r.window}};
  if (r.status != RecordStatus::kOk || !r.reason.empty()) j["reason"] = r.reason;
  if (r.collective) j["collective"] = collective_json(*r.collective);
  if (r.incast) j["incast"] = to_json(*r.incast);
  if (r.congestion) j["congestion"] = to_json(*r.congestion);
  if (r.soak) j["soak"] = to_json(*r.soak);
  const bool measured = r.status == RecordStatus::kOk || r.samples_total > 0;
  if (!measured) return j;
  j["latency_us"] = latency_json(r.latency_us);
  j["bandwidth"] = bandwidth_json(r.bandwidth);
  j["msg_rate"] = number(r.msg_rate);
  j["samples"] = samples_json(r);
  j["per_rank"] = json::array();
  for (const RankSummary& rank : r.per_rank) j["per_rank"].push_back(rank_json(rank));
  return j;
}

nlohmann::json to_json(const HostInfo& h) {
  json libraries = json::array();
  for (const LibraryVersion& lib : h.libraries)
    libraries.push_back({{"name", lib.name}, {"version", lib.version}});
  json j = {{"hostname", h.hostname},         {"kernel", h.kernel},
            {"cpu_model", h.cpu_model},       {"cores", h.cores},
            {"memory_bytes", h.memory_bytes}, {"libraries", std::move(libraries)}};
  // Left out rather than empty on hosts without GPUs, so their documents read as before 1.2.
  if (!h.gpus.empty()) {
    json gpus = json::array();
    for (const GpuInfo& gpu : h.gpus) gpus.push_back(gpu_json(gpu));
    j["gpus"] = std::move(gpus);
  }
  if (!h.gpu_topology.empty()) j["gpu_topology"] = h.gpu_topology;
  return j;
}

nlohmann::json to_json(const RunInfo& run, const std::vector<Record>& records) {
  json hosts = json::array();
  for (const HostInfo& host : run.hosts) hosts.push_back(to_json(host));
  json all = json::array();
  for (const Record& record : records) all.push_back(to_json(record));
  json j = {
      {"schema_version", kResultsSchemaVersion},
      {"tool", {{"name", kToolName}, {"version", run.tool_version}, {"git_sha", run.git_sha}}},
      {"command_line", run.command_line},
      {"start_time", run.start_time},
      {"end_time", run.end_time},
      {"benchmark", run.benchmark},
      {"plan", plan_json(run.plan)},
      {"hosts", std::move(hosts)},
      {"outcome", run.outcome},
      {"records", std::move(all)}};
  if (!run.error.empty()) j["error"] = run.error;
  if (run.fabric) j["fabric"] = to_json(*run.fabric);
  return j;
}

std::string record_line(const Record& record) {
  return to_json(record).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string document_text(const RunInfo& run, const std::vector<Record>& records) {
  return to_json(run, records).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Expected<Record> record_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return wrong_type("record", "an object", j);
  Record record;
  FB_TRY(read_record(j, "", record));
  return record;
}

Expected<HostInfo> host_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return wrong_type("host", "an object", j);
  HostInfo host;
  FB_TRY(read_value(j, "", host));
  return host;
}

Expected<ResultDocument> document_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return wrong_type("document", "an object", j);
  ResultDocument document;
  FB_TRY(read_document(j, document));
  return document;
}

Status check_record(const Record& r) {
  auto bad = [](std::string what) {
    return Status::error(StatusCode::kInvalidArgument, "invalid record: " + what, FB_HERE);
  };
  if (r.status != RecordStatus::kOk && r.reason.empty())
    return bad(std::string(to_string(r.status)) + " without a reason");
  if (r.samples_us.size() > r.samples_cap)
    return bad(std::to_string(r.samples_us.size()) + " samples kept, more than the cap of " +
               std::to_string(r.samples_cap));
  if (r.samples_us.size() > r.samples_total)
    return bad(std::to_string(r.samples_us.size()) + " samples kept, more than the " +
               std::to_string(r.samples_total) + " measured");
  if (r.id.benchmark.empty() || r.id.test.empty() || r.id.transport.empty() || r.id.memory.empty())
    return bad("identity needs a benchmark, test, transport and memory kind");
  if (r.id.ranks < 1) return bad("identity.ranks must be at least 1");
  if (r.window < 0) return bad("window must not be negative");
  for (const RankSummary& rank : r.per_rank)
    if (rank.rank < 0) return bad("per_rank holds a negative rank");
  return ok_status();
}

}  // namespace fb
