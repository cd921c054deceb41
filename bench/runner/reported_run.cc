#include "runner/reported_run.h"

#include <cstdio>

#include "fabricbench/transport/registry.h"
#include "runner/binding.h"
#include "runner/launcher.h"

namespace fb {
namespace {

Status run_rank(const CommonPlan& plan, const std::string& benchmark, const std::string& result_path,
                std::map<std::string, std::string> summary, Bootstrap& bootstrap, const ReportedRank& rank_main) {
  const ProgressMode progress = progress_mode_for(plan, bootstrap.local_size());
  FB_TRY_ASSIGN(std::string binding, bind_local_rank(plan.bind, bootstrap.local_rank()));
  summary["progress"] = to_string(progress);
  if (plan.progress_auto) summary["progress"] += " (auto)";
  summary["binding_rank0"] = binding;
  summary["bootstrap"] = bootstrap.kind();
  summary["np"] = std::to_string(bootstrap.size());
  FB_TRY_ASSIGN(auto report, RunReport::open(plan, benchmark, result_path, summary, bootstrap));
  Status outcome = rank_main(bootstrap, progress, report.get());
  if (report) {
    Status written = report->finish(outcome);
    if (outcome.ok()) return written;
  }
  return outcome;
}

}  // namespace

int run_reported_benchmark(const CommonPlan& plan, const std::string& benchmark,
                           const std::map<std::string, std::string>& summary, const ReportedRank& rank_main) {
  auto path = preflight_result_path(plan, benchmark);
  if (!path.ok()) {
    std::fprintf(stderr, "fabricbench: error: %s\n", path.status().to_string().c_str());
    return kExitUsage;
  }
  const TransportInfo* info = TransportRegistry::instance().find(plan.transport);
  const bool threads = info && info->capabilities.ranks_as_threads;
  return launch_ranks(plan, threads, [&](Bootstrap& bootstrap) {
    return run_rank(plan, benchmark, path.value(), summary, bootstrap, rank_main);
  });
}

}  // namespace fb
