#include "collective/collective_command.h"

#include "cli/sizes.h"
#include "collective/collective_run.h"
#include "runner/reported_run.h"

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

}  // namespace

int run_collective_command(const CollectivePlan& plan) {
  return run_reported_benchmark(plan.common, std::string(to_string(plan.kind)), summarize_plan(plan),
                                [&](Bootstrap& bootstrap, ProgressMode progress, RunReport* report) {
                                  CollectivePlan resolved = plan;
                                  resolved.common.transport_options.progress = progress;
                                  return run_collective_rank(resolved, bootstrap, report);
                                });
}

}  // namespace fb
