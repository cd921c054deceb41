// The frame every benchmark command shares: check the result path before any rank starts,
// launch the ranks, and on each rank bind it, settle its progress mode, open the report
// (rank 0 writes it) and finish the report whatever the outcome.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "plan.h"
#include "runner/run_report.h"

namespace fb {

// Runs the benchmark on one rank with the plan's progress mode resolved for this host;
// `report` is null except on rank 0.
using ReportedRank = std::function<Status(Bootstrap& bootstrap, ProgressMode progress, RunReport* report)>;

// Returns the process exit code. `summary` is the plan as the document shows it; the
// progress mode, rank 0's binding, the bootstrap and the job's rank count (np) are added.
int run_reported_benchmark(const CommonPlan& plan, const std::string& benchmark,
                           const std::map<std::string, std::string>& summary, const ReportedRank& rank_main);

}  // namespace fb
