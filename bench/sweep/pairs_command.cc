#include "sweep/pairs_command.h"

#include "cli/sizes.h"
#include "runner/reported_run.h"
#include "sweep/pairs_run.h"

namespace fb {
namespace {

std::map<std::string, std::string> summarize_plan(const PairsPlan& plan) {
  const CommonPlan& c = plan.p2p.common;
  std::string sizes, labels;
  for (uint64_t s : c.sizes) sizes.append(sizes.empty() ? "" : ",").append(format_size(s));
  for (const auto& l : plan.fabric.labels) labels.append(labels.empty() ? "" : ",").append(l);
  std::map<std::string, std::string> summary = {
      {"test", to_string(plan.p2p.tests.front())}, {"op", to_string(plan.p2p.op)},
      {"window", std::to_string(plan.p2p.window)}, {"transport", c.transport}, {"sizes", sizes},
      {"memory", std::string(to_string(c.memory))}, {"retest", plan.retest ? "on" : "off"},
      {"efficiency", std::to_string(plan.fabric.efficiency)},
      {"timeout_s", std::to_string(c.transport_options.timeout.count() / 1000.0)},
  };
  if (!labels.empty()) summary["labels"] = labels;
  if (plan.fabric.expect_gbits) summary["expect_gbits"] = std::to_string(*plan.fabric.expect_gbits);
  if (plan.fabric.topology_path) summary["topology"] = *plan.fabric.topology_path;
  if (plan.sample_pairs) summary["pairs_sample"] = std::to_string(*plan.sample_pairs);
  if (!plan.pair_list.empty()) summary["pairs"] = std::to_string(plan.pair_list.size()) + " listed";
  summary["iterations"] = c.iterations ? std::to_string(*c.iterations) : "default per test and size";
  if (c.warmup_override) summary["warmup"] = std::to_string(*c.warmup_override);
  if (c.duration_s > 0) {
    summary["duration_s"] = std::to_string(c.duration_s);
    summary["interval_s"] = std::to_string(plan.p2p.soak.interval_s);
  }
  return summary;
}

}  // namespace

int run_pairs_command(const PairsPlan& plan) {
  return run_reported_benchmark(plan.p2p.common, "pairs", summarize_plan(plan),
                                [&](Bootstrap& bootstrap, ProgressMode progress, RunReport* report) {
                                  PairsPlan resolved = plan;
                                  resolved.p2p.common.transport_options.progress = progress;
                                  return run_pairs_rank(resolved, bootstrap, report);
                                });
}

}  // namespace fb
