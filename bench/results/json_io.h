// The results as JSON: one Record per JSON Lines line, and the final document (RunInfo plus
// every record). The shapes are defined by results/schema/fabricbench-results-1.schema.json;
// change the two together and bump schema_version as results/schema/README.md says.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fabricbench/transport/status.h"
#include "results/record.h"

namespace fb {

// Major.minor. Readers accept any minor of their major: minors only add optional fields.
inline constexpr std::string_view kResultsSchemaVersion = "1.4";
inline constexpr int kResultsSchemaMajor = 1;
inline constexpr std::string_view kToolName = "fabricbench";

// A whole run as read back from a final document.
struct ResultDocument {
  std::string schema_version;
  RunInfo run;
  std::vector<Record> records;
};

std::string_view to_string(RecordStatus status);

// Writing never fails: NaN and infinities become null, and optional parts are left out when
// unset. Measurement blocks of a skipped or failed record are written only when something was
// measured (samples_total > 0).
nlohmann::json to_json(const Record& record);
nlohmann::json to_json(const HostInfo& host);
nlohmann::json to_json(const RunInfo& run, const std::vector<Record>& records);

// The exact text written to files. Invalid UTF-8 (a hostname, a native library's error text)
// is replaced rather than thrown on: losing a character is better than losing the results.
std::string record_line(const Record& record);  // one line, newline included
std::string document_text(const RunInfo& run, const std::vector<Record>& records);  // indented

// Reading reports the first problem as kInvalidArgument naming the field
// ("records[2].latency_us.p50: expected a number, got string"). Unknown keys are ignored so a
// newer minor version still reads; null numbers read back as NaN.
Expected<Record> record_from_json(const nlohmann::json& j);
Expected<HostInfo> host_from_json(const nlohmann::json& j);
Expected<ResultDocument> document_from_json(const nlohmann::json& j);

// Invariants the JSON shape cannot express, checked before a record is written:
// a reason for every record that is not ok, and no more samples kept than the cap.
Status check_record(const Record& record);

}  // namespace fb
