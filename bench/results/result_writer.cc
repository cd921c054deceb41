#include "results/result_writer.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "results/atomic_file.h"
#include "results/json_io.h"
#include "results/run_info.h"

namespace fb {
namespace {

Status cannot_write(const std::string& path, int err) {
  return Status::error(StatusCode::kIoError,
                       "cannot write results to " + path + ": " + std::strerror(err) +
                           "; choose another --json path",
                       FB_HERE);
}

}  // namespace

std::string stream_path_for(std::string_view final_path) {
  constexpr std::string_view kJson = ".json";
  if (final_path.ends_with(kJson)) return std::string(final_path) + "l";
  return std::string(final_path) + ".jsonl";
}

std::string default_result_path(std::string_view benchmark,
                                std::chrono::system_clock::time_point t) {
  return "./fabricbench-" + std::string(benchmark) + "-" + compact_utc(t) + ".json";
}

Expected<ResultWriter> ResultWriter::open(std::string final_path) {
  if (final_path.empty())
    return Status::error(StatusCode::kInvalidArgument,
                         "the results path is empty; choose another --json path", FB_HERE);
  struct stat st {};
  if (::stat(final_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return cannot_write(final_path, EISDIR);
  std::string stream_path = stream_path_for(final_path);
  // "e": close-on-exec, so a rank or helper started from this process cannot inherit it.
  std::FILE* stream = std::fopen(stream_path.c_str(), "we");
  if (!stream) return cannot_write(final_path, errno);
  return ResultWriter(std::move(final_path), std::move(stream_path), stream);
}

Status ResultWriter::append(const Record& record) {
  if (finished_)
    return Status::error(StatusCode::kInternal, "record appended after finish()", FB_HERE);
  FB_TRY(check_record(record));
  records_.push_back(record);
  if (!stream_) return cannot_write(stream_path_, EBADF);
  const std::string line = record_line(record);
  // Flushed line by line: a kill leaves whole lines, at worst a torn last one that readers drop.
  if (std::fwrite(line.data(), 1, line.size(), stream_.get()) != line.size() ||
      std::fflush(stream_.get()) != 0)
    return cannot_write(stream_path_, errno);
  return ok_status();
}

Status ResultWriter::finish(const RunInfo& run) {
  if (finished_) return Status::error(StatusCode::kInternal, "finish() called twice", FB_HERE);
  stream_.reset();
  RunInfo completed = run;
  complete_run_info(completed, records_, std::chrono::system_clock::now());
  Status written = write_file_atomically(final_path_, document_text(completed, records_));
  if (!written.ok()) return cannot_write(final_path_, static_cast<int>(written.native_code()));
  finished_ = true;
  return ok_status();
}

}  // namespace fb
