#include "sweep/incast_command.h"

#include "cli/sizes.h"
#include "runner/reported_run.h"
#include "sweep/incast_run.h"

namespace fb {
namespace {

std::map<std::string, std::string> summarize_plan(const IncastPlan& plan) {
  const CommonPlan& c = plan.p2p.common;
  std::string sizes, labels;
  for (uint64_t s : c.sizes) sizes.append(sizes.empty() ? "" : ",").append(format_size(s));
  for (const auto& l : plan.fabric.labels) labels.append(labels.empty() ? "" : ",").append(l);
  std::map<std::string, std::string> summary = {
      {"window", std::to_string(plan.p2p.window)}, {"transport", c.transport}, {"sizes", sizes},
      {"memory", std::string(to_string(c.memory))}, {"congestion", plan.congestion ? "on" : "off"},
      {"fan_in", plan.fan_in > 0 ? std::to_string(plan.fan_in) : "every host but the receiver"},
      {"timeout_s", std::to_string(c.transport_options.timeout.count() / 1000.0)},
  };
  if (!labels.empty()) summary["labels"] = labels;
  if (!plan.receiver.empty()) summary["receiver"] = plan.receiver;
  summary["iterations"] = c.iterations ? std::to_string(*c.iterations) : "20 bursts";
  if (c.warmup_override) summary["warmup"] = std::to_string(*c.warmup_override);
  return summary;
}

}  // namespace

int run_incast_command(const IncastPlan& plan) {
  return run_reported_benchmark(plan.p2p.common, "incast", summarize_plan(plan),
                                [&](Bootstrap& bootstrap, ProgressMode progress, RunReport* report) {
                                  IncastPlan resolved = plan;
                                  resolved.p2p.common.transport_options.progress = progress;
                                  return run_incast_rank(resolved, bootstrap, report);
                                });
}

}  // namespace fb
