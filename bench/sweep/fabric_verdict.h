// From a sweep's host matrix to the document's verdict: the outlier analysis, the pairs to
// measure again, and what the retest confirmed. Pure: tested on synthetic matrices.
#pragma once

#include <optional>
#include <vector>

#include "fabric/outliers.h"
#include "fabric/schedule.h"
#include "plan.h"
#include "results/record.h"

namespace fb {

using HostMatrix = std::vector<std::vector<double>>;  // [from][to], NaN where not measured

HostMatrix empty_matrix(size_t hosts);

// The value a record puts in the matrix: Gbit/s per direction for bandwidth tests (bibw's
// total is split between the two directions), latency p50 in microseconds for latency; NaN
// for a record that is not ok.
double matrix_value(const Record& record);

// Runs the analysis on `matrix` (bandwidth tests only).
Expected<OutlierReport> analyze_matrix(const std::vector<std::string>& hosts, const HostMatrix& matrix,
                                       const FabricPlan& plan, const Topology* topology);

// The host pairs behind the report's suspects, each once, as (lower, higher).
std::vector<HostPair> pairs_to_retest(const OutlierReport& report, const std::vector<std::string>& hosts);

// A retested pair counts as slow only when both measurements were: the merged matrix keeps
// the better of the two.
HostMatrix merge_retest(const HostMatrix& first, const HostMatrix& retest);

// Fills the summary's analysis and suspects from the final report; with a retest, the
// suspects of the first report that the final one lacks become `cleared`, and evidence gets
// its retest value.
void fill_verdict(FabricSummary& summary, const OutlierReport& final_report, const FabricPlan& plan,
                  const OutlierReport* first_report, const HostMatrix* retest);

}  // namespace fb
