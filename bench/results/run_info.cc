#include "results/run_info.h"

#include <algorithm>

#include "results/utc_time.h"
#include "results/version.h"

namespace fb {

std::vector<std::string> command_line_of(int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) args.emplace_back(argv[i] ? argv[i] : "");
  return args;
}

RunInfo start_run_info(std::string benchmark, std::vector<std::string> command_line,
                       std::chrono::system_clock::time_point start) {
  RunInfo run;
  run.tool_version = tool_version();
  run.git_sha = git_sha();
  run.command_line = std::move(command_line);
  run.start_time = iso8601_utc(start);
  run.benchmark = std::move(benchmark);
  return run;
}

void complete_run_info(RunInfo& run, const std::vector<Record>& records,
                       std::chrono::system_clock::time_point end) {
  if (run.tool_version.empty()) run.tool_version = tool_version();
  if (run.git_sha.empty()) run.git_sha = git_sha();
  if (run.end_time.empty()) run.end_time = iso8601_utc(end);
  const auto failed = std::count_if(records.begin(), records.end(), [](const Record& r) {
    return r.status == RecordStatus::kFailed;
  });
  if (failed > 0) run.outcome = "failed";
  if (run.outcome != "failed" || !run.error.empty()) return;
  run.error = failed > 0 ? failed_records_error(failed, records.size())
                         : "the run failed without a recorded reason";
}

std::string failed_records_error(size_t failed, size_t total) {
  return std::to_string(failed) + " of " + std::to_string(total) + " records failed";
}

}  // namespace fb
