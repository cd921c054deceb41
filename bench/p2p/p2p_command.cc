#include "p2p/p2p_command.h"

#include "cli/sizes.h"
#include "p2p/p2p.h"
#include "runner/reported_run.h"

namespace fb {
namespace {

std::map<std::string, std::string> summarize_plan(const P2pPlan& plan) {
  const CommonPlan& c = plan.common;
  std::string tests, sizes;
  for (P2pTest t : plan.tests) tests.append(tests.empty() ? "" : ",").append(std::string(to_string(t)));
  for (uint64_t s : c.sizes) sizes.append(sizes.empty() ? "" : ",").append(format_size(s));
  std::map<std::string, std::string> summary = {
      {"tests", tests}, {"op", to_string(plan.op)}, {"window", std::to_string(plan.window)},
      {"transport", c.transport}, {"bind", to_string(c.bind)},
      {"sizes", sizes}, {"memory", std::string(to_string(c.memory))},
      {"timeout_s", std::to_string(c.transport_options.timeout.count() / 1000.0)},
  };
  summary["iterations"] = c.iterations ? std::to_string(*c.iterations) : "default per test and size";
  if (c.warmup_override) summary["warmup"] = std::to_string(*c.warmup_override);
  if (c.duration_s > 0) summary["duration_s"] = std::to_string(c.duration_s);
  return summary;
}

}  // namespace

int run_p2p_command(const P2pPlan& plan) {
  return run_reported_benchmark(plan.common, "p2p", summarize_plan(plan),
                                [&](Bootstrap& bootstrap, ProgressMode progress, RunReport* report) {
                                  P2pPlan resolved = plan;
                                  resolved.common.transport_options.progress = progress;
                                  return run_p2p_rank(resolved, bootstrap, report);
                                });
}

}  // namespace fb
