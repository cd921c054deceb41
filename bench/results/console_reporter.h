// The human-readable table, in the spirit of perftest and nccl-tests: '#' lines describe the
// run and the columns (so scripts can skip them), then one fixed-width row per record, printed
// and flushed as each record arrives.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include "results/record.h"

namespace fb {

class ConsoleReporter {
 public:
  explicit ConsoleReporter(std::FILE* out) : out_(out) {}

  // The run header and the column header for the first record's identity. The plan's
  // "iterations" and "warmup" entries are shown when present.
  void begin(const RunInfo& run, const RecordIdentity& first);

  // One row. A record whose identity differs from the current block in anything but the
  // message size starts a new block with its own header.
  void row(const Record& record);

  // The outcome when the run failed (run.outcome "failed", or a failed row was printed), then
  // "# results: <json_path>".
  void end(const RunInfo& run, const std::string& json_path);

 private:
  void identity_block(const RecordIdentity& id);
  void print_line(const std::string& line);

  std::FILE* out_;
  RunInfo run_;
  std::optional<RecordIdentity> block_;  // identity of the rows being printed, bytes zeroed
  size_t rows_ = 0;
  size_t failed_rows_ = 0;
};

}  // namespace fb
