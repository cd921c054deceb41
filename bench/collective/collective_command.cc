#include "collective/collective_command.h"

#include <cstdio>

#include "cli/sizes.h"
#include "collective/collective_run.h"
#include "fabricbench/transport/registry.h"
#include "runner/binding.h"
#include "runner/launcher.h"
#include "runner/run_report.h"

namespace fb {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out.append(out.empty() ? "" : ",").append(item);
  return out;
}

std::map<std::string, std::string> summarize_plan(const CollectivePlan& plan) {
  const CommonPlan& c = plan.common;
  std::vector<std::string> sizes, dtypes, ops;
  for (uint64_t s : c.sizes) sizes.push_back(format_size(s));
  for (DataType d : plan.dtypes) dtypes.emplace_back(to_string(d));
  for (ReduceOp o : plan.ops) ops.emplace_back(to_string(o));
  std::map<std::string, std::string> summary = {
      {"collective", std::string(to_string(plan.kind))},
      {"algorithms", join(plan.algorithms)},
      {"dtypes", join(dtypes)},
      {"check", plan.check ? "on" : "off"},
      {"chunk_bytes", std::to_string(plan.chunk_bytes)},
      {"transport", c.transport},
      {"bind", to_string(c.bind)},
      {"sizes", join(sizes)},
      {"memory", std::string(to_string(c.memory))},
      {"timeout_s", std::to_string(c.transport_options.timeout.count() / 1000.0)},
  };
  if (plan.kind == CollectiveKind::kAllReduce || plan.kind == CollectiveKind::kReduceScatter)
    summary["ops"] = join(ops);
  summary["iterations"] = c.iterations ? std::to_string(*c.iterations) : "about 0.1 s per case (5 to 1000)";
  summary["warmup"] = std::to_string(c.warmup_override.value_or(5));
  if (c.duration_s > 0) summary["duration_s"] = std::to_string(c.duration_s);
  if (plan.corruption)
    summary["inject_corruption"] =
        std::to_string(plan.corruption->rank) + ":" + std::to_string(plan.corruption->index);
  return summary;
}

Status run_rank(const CollectivePlan& plan, const std::string& benchmark, const std::string& result_path,
                Bootstrap& bootstrap) {
  const ProgressMode progress_mode = progress_mode_for(plan.common, bootstrap.local_size());
  FB_TRY_ASSIGN(std::string binding, bind_local_rank(plan.common.bind, bootstrap.local_rank()));
  auto summary = summarize_plan(plan);
  summary["progress"] = to_string(progress_mode);
  if (plan.common.progress_auto) summary["progress"] += " (auto)";
  summary["binding_rank0"] = binding;
  summary["bootstrap"] = bootstrap.kind();
  summary["np"] = std::to_string(bootstrap.size());
  FB_TRY_ASSIGN(auto report, RunReport::open(plan.common, benchmark, result_path, summary, bootstrap));
  CollectivePlan resolved = plan;
  resolved.common.transport_options.progress = progress_mode;
  Status outcome = run_collective_rank(resolved, bootstrap, report.get());
  if (report) {
    Status written = report->finish(outcome);
    if (outcome.ok()) return written;
  }
  return outcome;
}

}  // namespace

int run_collective_command(const CollectivePlan& plan) {
  const std::string benchmark(to_string(plan.kind));
  auto path = preflight_result_path(plan.common, benchmark);
  if (!path.ok()) {
    std::fprintf(stderr, "fabricbench: error: %s\n", path.status().to_string().c_str());
    return kExitUsage;
  }
  const TransportInfo* info = TransportRegistry::instance().find(plan.common.transport);
  const bool threads = info && info->capabilities.ranks_as_threads;
  return launch_ranks(plan.common, threads,
                      [&](Bootstrap& bootstrap) { return run_rank(plan, benchmark, path.value(), bootstrap); });
}

}  // namespace fb
