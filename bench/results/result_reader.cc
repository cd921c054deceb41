#include "results/result_reader.h"

#include <cerrno>
#include <fstream>
#include <sstream>

namespace fb {
namespace {

Expected<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::from_errno(errno, "open " + path, FB_HERE);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Expected<nlohmann::json> parse(const std::string& text, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return Status::error(StatusCode::kInvalidArgument, where + ": not valid JSON", FB_HERE);
  return j;
}

}  // namespace

Expected<ResultDocument> load_document(const std::string& path) {
  FB_TRY_ASSIGN(std::string text, read_file(path));
  FB_TRY_ASSIGN(nlohmann::json j, parse(text, path));
  Expected<ResultDocument> document = document_from_json(j);
  if (!document.ok()) return document.status().with_context(path);
  return document;
}

Expected<std::vector<Record>> load_stream(const std::string& path) {
  FB_TRY_ASSIGN(std::string text, read_file(path));
  std::vector<Record> records;
  size_t start = 0;
  for (int line_number = 1; start < text.size(); ++line_number) {
    const size_t newline = text.find('\n', start);
    const bool complete = newline != std::string::npos;
    const std::string line = text.substr(start, complete ? newline - start : std::string::npos);
    start = complete ? newline + 1 : text.size();
    const std::string where = path + ":" + std::to_string(line_number);
    Expected<nlohmann::json> j = parse(line, where);
    if (!j.ok() && !complete) break;  // torn last line of a killed run
    if (!j.ok()) return j.status();
    Expected<Record> record = record_from_json(*j);
    if (!record.ok()) return record.status().with_context(where);
    records.push_back(std::move(record).value());
  }
  return records;
}

}  // namespace fb
