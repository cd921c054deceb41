#include "results/console_reporter.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "sample_results.h"

namespace fb {
namespace {

using testing::sample_failed_record;
using testing::sample_latency_record;
using testing::sample_run_info;
using testing::sample_skipped_record;

// Output captured in memory; text() shows what has been flushed so far.
class Capture {
 public:
  Capture() : file_(open_memstream(&data_, &size_)) {}
  ~Capture() {
    std::fclose(file_);
    std::free(data_);
  }
  std::FILE* file() { return file_; }
  std::string text() const { return std::string(data_, size_); }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

TEST(ConsoleReporter, RendersTheTable) {
  Capture out;
  ConsoleReporter reporter(out.file());
  RunInfo run = sample_run_info();
  const Record first = sample_latency_record(8);
  reporter.begin(run, first.id);
  reporter.row(first);
  reporter.row(sample_latency_record(4096));
  reporter.row(sample_latency_record(1 << 20));
  reporter.row(sample_skipped_record());  // another memory kind: a new block
  Record bw = sample_latency_record(65536);
  bw.id.test = "bw";
  bw.window = 64;
  reporter.row(bw);
  reporter.row(sample_failed_record());
  reporter.end(run, "./fabricbench-p2p-20240501T120000Z.json");  // the failed row fails it
  testing::expect_matches_golden("console.txt", out.text());
}

TEST(ConsoleReporter, EachRowIsOutAsSoonAsItArrives) {
  Capture out;
  ConsoleReporter reporter(out.file());
  const Record first = sample_latency_record(8);
  reporter.begin(sample_run_info(), first.id);
  const std::string header = out.text();
  EXPECT_NE(header.find("# benchmark: p2p  test: latency  op: send  transport: ucx  ranks: 2"),
            std::string::npos);
  reporter.row(first);
  const std::string after_row = out.text();
  ASSERT_GT(after_row.size(), header.size());
  EXPECT_EQ(after_row.substr(header.size(), 24), "           8       1000 ");
  reporter.row(sample_skipped_record());
  EXPECT_NE(out.text().find("  skipped: transport 'ucx' does not support"), std::string::npos);
}

TEST(ConsoleReporter, FailedRunSaysWhy) {
  Capture out;
  ConsoleReporter reporter(out.file());
  RunInfo run = sample_run_info();
  run.outcome = "failed";
  run.error = "rank 1 on node02 stopped answering";
  reporter.end(run, "run.json");
  EXPECT_EQ(out.text(), "# run failed: rank 1 on node02 stopped answering\n# results: run.json\n");
}

TEST(ConsoleReporter, EndNamesTheResultsFile) {
  Capture out;
  ConsoleReporter reporter(out.file());
  reporter.end(sample_run_info(), "out/run.json");
  EXPECT_EQ(out.text(), "# results: out/run.json\n");
}

}  // namespace
}  // namespace fb
