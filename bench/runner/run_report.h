// Rank 0's side of a run: the console table, the JSON Lines stream and the final document.
#pragma once

#include <memory>
#include <string>

#include "fabricbench/transport/bootstrap.h"
#include "plan.h"
#include "results/record.h"
#include "runner/record_sink.h"

namespace fb {

// Fails early (before any rank starts) when the result path cannot be written.
Expected<std::string> preflight_result_path(const CommonPlan& plan, const std::string& benchmark);

class RunReport final : public RecordSink {
 public:
  // Every rank calls this (it gathers host information); rank 0 gets a report, others null.
  static Expected<std::unique_ptr<RunReport>> open(const CommonPlan& plan, std::string benchmark,
                                                   std::string result_path,
                                                   std::map<std::string, std::string> plan_summary,
                                                   Bootstrap& bootstrap);
  ~RunReport() override;

  Status add(const Record& record) override;
  // A fabric sweep's verdict: goes into the document and, after the table, the console.
  void set_fabric(FabricSummary fabric);
  // Writes the final document; `outcome` is the run's status (a failure still writes).
  Status finish(const Status& outcome);

 private:
  struct State;
  explicit RunReport(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace fb
