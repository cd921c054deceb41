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

// The header lines before the first block, as begin() prints them.
std::string run_header(const RunInfo& run) {
  Capture out;
  ConsoleReporter reporter(out.file());
  reporter.begin(run, sample_latency_record(8).id);
  const std::string text = out.text();
  return text.substr(0, text.find("# benchmark:"));
}

TEST(ConsoleReporter, GpusAreNamedPerHost) {
  RunInfo run = sample_run_info();
  EXPECT_EQ(run_header(run).find("# gpus"), std::string::npos);  // no GPUs, no line
  HostInfo h100 = testing::sample_gpu_host();
  h100.gpus.resize(1);
  run.hosts = {h100};
  EXPECT_NE(run_header(run).find(
                "\n# gpus: gpu01: 0 NVIDIA H100 80GB HBM3 (driver 550.54.15)\n"),
            std::string::npos)
      << run_header(run);
}

TEST(ConsoleReporter, IdenticalGpusShareOneEntry) {
  RunInfo run = sample_run_info();
  HostInfo eight = testing::sample_gpu_host();
  eight.gpus.resize(8, eight.gpus.at(0));
  for (int i = 0; i < 8; ++i) eight.gpus[i].index = i;
  eight.gpus[7].name = "NVIDIA H100 PCIe";
  HostInfo other = eight;
  other.hostname = "gpu02";
  other.gpus.resize(2);
  other.gpus[1].driver_version = "535.161.08";
  run.hosts.push_back(eight);
  run.hosts.push_back(other);
  const std::string header = run_header(run);
  EXPECT_NE(header.find("# hosts: node01 gpu01 gpu02\n"
                        "# gpus: node01: none; gpu01: 0-6 NVIDIA H100 80GB HBM3 (driver "
                        "550.54.15), 7 NVIDIA H100 PCIe (driver 550.54.15); gpu02: 0 NVIDIA H100 "
                        "80GB HBM3 (driver 550.54.15), 1 NVIDIA H100 80GB HBM3 (driver 535.161.08)"
                        "\n"),
            std::string::npos)
      << header;
}

TEST(ConsoleReporter, ManyGpuHostsAreCounted) {
  RunInfo run = sample_run_info();
  for (int i = 0; i < 5; ++i) {
    HostInfo host = testing::sample_gpu_host();
    host.hostname = "gpu0" + std::to_string(i);
    run.hosts.push_back(host);
  }
  const std::string header = run_header(run);
  EXPECT_NE(header.find("# hosts: 6\n# gpus: 10 on 5 of 6 hosts\n"), std::string::npos) << header;
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
