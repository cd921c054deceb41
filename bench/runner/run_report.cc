#include "runner/run_report.h"

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "results/console_reporter.h"
#include "results/fabric_console.h"
#include "results/host_info.h"
#include "results/json_io.h"
#include "results/result_writer.h"
#include "results/run_info.h"

namespace fb {

struct RunReport::State {
  ResultWriter writer;
  RunInfo run;
  std::optional<ConsoleReporter> console;
  bool console_started = false;
};

Expected<std::string> preflight_result_path(const CommonPlan& plan, const std::string& benchmark) {
  std::string path = plan.json_path.value_or(default_result_path(benchmark, std::chrono::system_clock::now()));
  FB_TRY_ASSIGN(ResultWriter probe, ResultWriter::open(path));
  // Only rank 0 writes; the probe just proves the path is writable before ranks start.
  std::remove(probe.stream_path().c_str());
  return path;
}

namespace {

Expected<std::vector<HostInfo>> gather_hosts(Bootstrap& bootstrap) {
  const std::string mine = to_json(collect_host_info()).dump();
  const auto* first = reinterpret_cast<const std::byte*>(mine.data());
  FB_TRY_ASSIGN(auto all, bootstrap.allgather(ByteSpan(first, mine.size())));
  std::vector<HostInfo> hosts;
  std::set<std::string> seen;
  for (const auto& bytes : all) {
    nlohmann::json j = nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()),
                                             reinterpret_cast<const char*>(bytes.data()) + bytes.size(), nullptr,
                                             false);
    if (j.is_discarded())
      return Status::error(StatusCode::kProtocol, "a rank sent malformed host information", FB_HERE);
    FB_TRY_ASSIGN(HostInfo host, host_from_json(j));
    if (seen.insert(host.hostname).second) hosts.push_back(std::move(host));
  }
  return hosts;
}

}  // namespace

Expected<std::unique_ptr<RunReport>> RunReport::open(const CommonPlan& plan, std::string benchmark,
                                                     std::string result_path,
                                                     std::map<std::string, std::string> plan_summary,
                                                     Bootstrap& bootstrap) {
  FB_TRY_ASSIGN(auto hosts, gather_hosts(bootstrap));
  if (bootstrap.rank() != 0) return std::unique_ptr<RunReport>();
  FB_TRY_ASSIGN(ResultWriter writer, ResultWriter::open(result_path));
  auto state = std::unique_ptr<State>(new State{std::move(writer), {}, {}, false});
  state->run = start_run_info(benchmark, plan.command_line, std::chrono::system_clock::now());
  state->run.hosts = std::move(hosts);
  state->run.plan = std::move(plan_summary);
  if (!plan.quiet) state->console.emplace(stdout);
  return std::unique_ptr<RunReport>(new RunReport(std::move(state)));
}

RunReport::RunReport(std::unique_ptr<State> state) : state_(std::move(state)) {}
RunReport::~RunReport() = default;

Status RunReport::add(const Record& record) {
  Status written = state_->writer.append(record);
  if (state_->console) {
    if (!state_->console_started) state_->console->begin(state_->run, record.id);
    state_->console_started = true;
    state_->console->row(record);
  }
  return written;
}

void RunReport::set_fabric(FabricSummary fabric) { state_->run.fabric = std::move(fabric); }

Status RunReport::finish(const Status& outcome) {
  if (!outcome.ok()) {
    state_->run.outcome = "failed";
    state_->run.error = outcome.to_string();
  }
  Status written = state_->writer.finish(state_->run);
  if (state_->console && state_->run.fabric) print_fabric_summary(stdout, *state_->run.fabric);
  if (state_->console) state_->console->end(state_->run, state_->writer.final_path());
  return written;
}

}  // namespace fb
