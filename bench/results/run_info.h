// Helpers that fill the document-level metadata of a run (RunInfo) at its start and its end.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "results/record.h"

namespace fb {

// The command line as the user typed it, argv[0] included.
std::vector<std::string> command_line_of(int argc, const char* const* argv);

// A RunInfo with this build's version and git sha, the command line and the start time.
// Hosts and the plan are the caller's to add.
RunInfo start_run_info(std::string benchmark, std::vector<std::string> command_line,
                       std::chrono::system_clock::time_point start);

// Fills what is only known at the end, leaving whatever the caller already set: the end time,
// the tool version and sha, outcome "failed" when any record failed, and an error text for a
// failed outcome that has none (the document must say why it failed).
void complete_run_info(RunInfo& run, const std::vector<Record>& records,
                       std::chrono::system_clock::time_point end);

// The error text of a run whose only failure is failed records: "2 of 9 records failed".
std::string failed_records_error(size_t failed, size_t total);

}  // namespace fb
