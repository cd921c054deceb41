// Writes a run's results: each record as one JSON Lines line the moment it is measured (so a
// run killed midway still leaves valid evidence), then the final document, atomically.
//
//   FB_TRY_ASSIGN(ResultWriter writer, ResultWriter::open(path));   // fails early on a bad path
//   FB_TRY(writer.append(record));                                  // per record
//   FB_TRY(writer.finish(run));                                     // also when the run failed
//
// One process writes (rank 0 in a multi-rank run): the stream is not shared between ranks.
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fabricbench/transport/status.h"
#include "results/record.h"
#include "results/utc_time.h"

namespace fb {

class ResultWriter {
 public:
  // Creates (truncates) the stream file next to final_path; errors name the path the user
  // gave: kIoError "cannot write results to PATH: <why>; choose another --json path".
  static Expected<ResultWriter> open(std::string final_path);

  // Writes the record as one line and flushes it; the record is kept for finish() even when
  // the line could not be written. A record breaking check_record() is refused.
  Status append(const Record& record);

  // Writes the final document with every appended record; run is completed first with
  // complete_run_info() (end time, outcome "failed" when a record failed). Call it on failure
  // too, with outcome "failed" and the error, so the partial results stay a valid document.
  // The stream file is closed and left in place.
  Status finish(const RunInfo& run);

  const std::string& final_path() const { return final_path_; }
  const std::string& stream_path() const { return stream_path_; }
  const std::vector<Record>& records() const { return records_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };

  ResultWriter(std::string final_path, std::string stream_path, std::FILE* stream)
      : final_path_(std::move(final_path)), stream_path_(std::move(stream_path)), stream_(stream) {}

  std::string final_path_;
  std::string stream_path_;
  std::unique_ptr<std::FILE, FileCloser> stream_;
  std::vector<Record> records_;
  bool finished_ = false;
};

// "x.json" -> "x.jsonl"; any other name gets ".jsonl" appended.
std::string stream_path_for(std::string_view final_path);

// "./fabricbench-<benchmark>-<yyyymmddThhmmssZ>.json", the time in UTC.
std::string default_result_path(std::string_view benchmark,
                                std::chrono::system_clock::time_point t);

}  // namespace fb
