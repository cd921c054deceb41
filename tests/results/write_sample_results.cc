// Writes results the way a run does (ResultWriter, this host's description) so the schema
// tests validate real output: DIR/sample.json (+ .jsonl), DIR/sample-failed.json for a run
// that stopped, and DIR/sample-gpus.json with a GPU host beside this one and a collective
// record on device memory, a host with its inventory and a record with counter deltas.
#include <cstdio>
#include <filesystem>

#include "results/host_info.h"
#include "results/result_writer.h"
#include "results/run_info.h"
#include "sample_results.h"

namespace fb {
namespace {

Status write(const std::string& path, const std::vector<Record>& records, RunInfo run) {
  FB_TRY_ASSIGN(ResultWriter writer, ResultWriter::open(path));
  for (const Record& r : records) FB_TRY(writer.append(r));
  return writer.finish(run);
}

Status write_samples(const std::filesystem::path& dir, int argc, char** argv) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  RunInfo run =
      start_run_info("p2p", command_line_of(argc, argv), std::chrono::system_clock::now());
  run.plan = {{"test", "latency"}, {"iterations", "1000"}, {"warmup", "100"}};
  run.hosts = {collect_host_info()};
  FB_TRY(write((dir / "sample.json").string(),
               {testing::sample_latency_record(8), testing::sample_latency_record(4096),
                testing::sample_skipped_record()},
               run));
  RunInfo with_gpus = run;
  with_gpus.hosts.push_back(testing::sample_gpu_host());
  with_gpus.hosts.push_back(testing::sample_inventory_host());
  FB_TRY(write((dir / "sample-gpus.json").string(),
               {testing::sample_latency_record(8), testing::sample_device_collective_record(),
                testing::sample_counters_record()},
               with_gpus));
  run.outcome = "failed";
  run.error = "rank 1 on node02 stopped answering";
  return write((dir / "sample-failed.json").string(),
               {testing::sample_latency_record(8), testing::sample_failed_record()}, run);
}

}  // namespace
}  // namespace fb

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  fb::Status s = fb::write_samples(argv[1], argc, argv);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    return 1;
  }
  return 0;
}
