#include "p2p/p2p_command.h"

#include <cstdio>

#include "cli/sizes.h"
#include "fabricbench/transport/registry.h"
#include "p2p/p2p.h"
#include "runner/binding.h"
#include "runner/launcher.h"
#include "runner/run_report.h"

namespace fb {
namespace {

std::map<std::string, std::string> summarize_plan(const P2pPlan& plan) {
  const CommonPlan& c = plan.common;
  std::string tests, sizes;
  for (P2pTest t : plan.tests) tests.append(tests.empty() ? "" : ",").append(std::string(to_string(t)));
  for (uint64_t s : c.sizes) sizes.append(sizes.empty() ? "" : ",").append(format_size(s));
  std::map<std::string, std::string> summary = {
      {"tests", tests}, {"op", to_string(plan.op)}, {"window", std::to_string(plan.window)},
      {"transport", c.transport}, {"np", std::to_string(c.np)}, {"bind", to_string(c.bind)},
      {"sizes", sizes}, {"memory", std::string(to_string(c.memory))},
      {"timeout_s", std::to_string(c.transport_options.timeout.count() / 1000.0)},
  };
  summary["iterations"] = c.iterations ? std::to_string(*c.iterations) : "default per test and size";
  if (c.warmup_override) summary["warmup"] = std::to_string(*c.warmup_override);
  if (c.duration_s > 0) summary["duration_s"] = std::to_string(c.duration_s);
  return summary;
}

Status run_rank(const P2pPlan& plan, const std::string& result_path, Bootstrap& bootstrap) {
  const ProgressMode progress_mode = progress_mode_for(plan.common, bootstrap.local_size());
  FB_TRY_ASSIGN(std::string binding, bind_local_rank(plan.common.bind, bootstrap.local_rank()));
  auto summary = summarize_plan(plan);
  summary["progress"] = to_string(progress_mode);
  if (plan.common.progress_auto) summary["progress"] += " (auto)";
  summary["binding_rank0"] = binding;
  summary["bootstrap"] = bootstrap.kind();
  FB_TRY_ASSIGN(auto report, RunReport::open(plan.common, "p2p", result_path, summary, bootstrap));
  P2pPlan resolved = plan;
  resolved.common.transport_options.progress = progress_mode;
  Status outcome = run_p2p_rank(resolved, bootstrap, report.get());
  if (report) {
    Status written = report->finish(outcome);
    if (outcome.ok()) return written;
  }
  return outcome;
}

}  // namespace

int run_p2p_command(const P2pPlan& plan) {
  auto path = preflight_result_path(plan.common, "p2p");
  if (!path.ok()) {
    std::fprintf(stderr, "fabricbench: error: %s\n", path.status().to_string().c_str());
    return kExitUsage;
  }
  const TransportInfo* info = TransportRegistry::instance().find(plan.common.transport);
  const bool threads = info && info->capabilities.ranks_as_threads;
  return launch_ranks(plan.common, threads,
                      [&](Bootstrap& bootstrap) { return run_rank(plan, path.value(), bootstrap); });
}

}  // namespace fb
