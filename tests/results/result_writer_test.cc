#include "results/result_writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "results/json_io.h"
#include "results/result_reader.h"
#include "sample_results.h"

namespace fb {
namespace {

namespace fs = std::filesystem;
using testing::sample_failed_record;
using testing::sample_latency_record;
using testing::sample_run_info;
using testing::sample_skipped_record;

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class ResultWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "fabricbench-results-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  ResultWriter open_writer(const std::string& name) {
    Expected<ResultWriter> writer = ResultWriter::open(path(name));
    EXPECT_TRUE(writer.ok()) << writer.status().to_string();
    return std::move(writer).value();
  }

  fs::path dir_;
};

TEST(ResultPaths, StreamIsNextToTheFinalFile) {
  EXPECT_EQ(stream_path_for("out/run.json"), "out/run.jsonl");
  EXPECT_EQ(stream_path_for("run"), "run.jsonl");
  EXPECT_EQ(stream_path_for("run.txt"), "run.txt.jsonl");
}

TEST(ResultPaths, DefaultPathCarriesTheBenchmarkAndUtcTime) {
  using namespace std::chrono;
  const system_clock::time_point t = sys_days{2024y / May / 1} + 12h + 34min + 56s + 789ms;
  EXPECT_EQ(default_result_path("p2p", t), "./fabricbench-p2p-20240501T123456Z.json");
  EXPECT_EQ(iso8601_utc(t), "2024-05-01T12:34:56Z");
}

TEST_F(ResultWriterTest, RecordsStreamOneLineEachAsTheyArrive) {
  ResultWriter writer = open_writer("run.json");
  EXPECT_EQ(writer.final_path(), path("run.json"));
  EXPECT_EQ(writer.stream_path(), path("run.jsonl"));
  EXPECT_TRUE(fs::exists(writer.stream_path()));
  EXPECT_TRUE(lines_of(writer.stream_path()).empty());

  const Record first = sample_latency_record(8);
  ASSERT_TRUE(writer.append(first).ok());
  // Read while the run is still going: the line must already be on disk.
  std::vector<std::string> lines = lines_of(writer.stream_path());
  ASSERT_EQ(lines.size(), 1u);
  Expected<Record> back = record_from_json(nlohmann::json::parse(lines[0]));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back.value(), first);

  ASSERT_TRUE(writer.append(sample_skipped_record()).ok());
  EXPECT_EQ(lines_of(writer.stream_path()).size(), 2u);
  EXPECT_FALSE(fs::exists(writer.final_path()));  // only finish() writes it

  Expected<std::vector<Record>> streamed = load_stream(writer.stream_path());
  ASSERT_TRUE(streamed.ok()) << streamed.status().to_string();
  EXPECT_EQ(streamed.value(), (std::vector<Record>{first, sample_skipped_record()}));
}

TEST_F(ResultWriterTest, FinishWritesTheWholeDocumentAtomically) {
  ResultWriter writer = open_writer("run.json");
  const std::vector<Record> records = {sample_latency_record(8), sample_latency_record(4096),
                                       sample_skipped_record()};
  for (const Record& r : records) ASSERT_TRUE(writer.append(r).ok());
  RunInfo run = sample_run_info();
  run.end_time.clear();  // finish() fills it
  ASSERT_TRUE(writer.finish(run).ok());

  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  Expected<ResultDocument> doc = load_document(writer.final_path());
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->records, records);
  EXPECT_EQ(doc->run.outcome, "ok");
  EXPECT_EQ(doc->run.error, "");
  EXPECT_EQ(doc->run.end_time.size(), std::string("2024-05-01T12:00:07Z").size());
  EXPECT_EQ(doc->run.command_line, run.command_line);
  EXPECT_EQ(lines_of(writer.stream_path()).size(), records.size());  // the stream stays
}

TEST_F(ResultWriterTest, FinishReplacesAnEarlierFile) {
  std::ofstream(path("run.json")) << "stale";
  ResultWriter writer = open_writer("run.json");
  ASSERT_TRUE(writer.finish(sample_run_info()).ok());
  EXPECT_TRUE(load_document(path("run.json")).ok());
}

TEST_F(ResultWriterTest, FailedRunStillWritesAValidDocument) {
  ResultWriter writer = open_writer("run.json");
  ASSERT_TRUE(writer.append(sample_latency_record(8)).ok());
  RunInfo run = sample_run_info();
  run.outcome = "failed";
  run.error = "rank 1 on node02 stopped answering";
  ASSERT_TRUE(writer.finish(run).ok());
  Expected<ResultDocument> doc = load_document(writer.final_path());
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->run.outcome, "failed");
  EXPECT_EQ(doc->run.error, run.error);
  EXPECT_EQ(doc->records.size(), 1u);
}

TEST_F(ResultWriterTest, AFailedRecordFailsTheRun) {
  ResultWriter writer = open_writer("run.json");
  ASSERT_TRUE(writer.append(sample_latency_record(8)).ok());
  ASSERT_TRUE(writer.append(sample_failed_record()).ok());
  ASSERT_TRUE(writer.finish(sample_run_info()).ok());
  Expected<ResultDocument> doc = load_document(writer.final_path());
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->run.outcome, "failed");
  EXPECT_EQ(doc->run.error, "1 of 2 records failed");
}

TEST_F(ResultWriterTest, MissingDirectoryIsAClearError) {
  const std::string missing = path("no-such-dir/run.json");
  Expected<ResultWriter> writer = ResultWriter::open(missing);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), StatusCode::kIoError);
  EXPECT_EQ(writer.status().message(),
            "cannot write results to " + missing +
                ": No such file or directory; choose another --json path");
}

TEST_F(ResultWriterTest, DirectoryAsTheFinalPathIsAClearError) {
  Expected<ResultWriter> writer = ResultWriter::open(dir_.string());
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().message(), "cannot write results to " + dir_.string() +
                                           ": Is a directory; choose another --json path");
}

TEST_F(ResultWriterTest, UnwritableDirectoryIsAClearError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes through directory permissions";
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
  Expected<ResultWriter> writer = ResultWriter::open(path("run.json"));
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().message(), "cannot write results to " + path("run.json") +
                                           ": Permission denied; choose another --json path");
}

TEST_F(ResultWriterTest, InvalidRecordIsRefusedAndNotStreamed) {
  ResultWriter writer = open_writer("run.json");
  Record r = sample_skipped_record();
  r.reason.clear();
  Status s = writer.append(r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(lines_of(writer.stream_path()).empty());
  EXPECT_TRUE(writer.records().empty());
}

TEST_F(ResultWriterTest, NothingIsAppendedAfterFinish) {
  ResultWriter writer = open_writer("run.json");
  ASSERT_TRUE(writer.finish(sample_run_info()).ok());
  EXPECT_FALSE(writer.append(sample_latency_record(8)).ok());
  EXPECT_FALSE(writer.finish(sample_run_info()).ok());
}

TEST_F(ResultWriterTest, StreamReaderDropsATornLastLine) {
  const std::string line = to_json(sample_latency_record(8)).dump();
  std::ofstream(path("killed.jsonl")) << line << "\n" << line << "\n" << line.substr(0, 40);
  Expected<std::vector<Record>> records = load_stream(path("killed.jsonl"));
  ASSERT_TRUE(records.ok()) << records.status().to_string();
  EXPECT_EQ(records->size(), 2u);
}

TEST_F(ResultWriterTest, StreamReaderNamesABadLine) {
  const std::string line = to_json(sample_latency_record(8)).dump();
  std::ofstream(path("bad.jsonl")) << line << "\n{\"identity\": 1}\n" << line << "\n";
  Expected<std::vector<Record>> records = load_stream(path("bad.jsonl"));
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.status().message(),
            path("bad.jsonl") + ":2: identity: expected an object, got integer");
}

TEST_F(ResultWriterTest, DocumentReaderNamesTheFile) {
  std::ofstream(path("broken.json")) << "{";
  Expected<ResultDocument> doc = load_document(path("broken.json"));
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().message(), path("broken.json") + ": not valid JSON");
  EXPECT_EQ(load_document(path("absent.json")).status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace fb
