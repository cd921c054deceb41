// The final document for fixed inputs, byte for byte. A change here is a change to the
// results format: see results/schema/README.md for when it needs a schema version bump.
#include <gtest/gtest.h>

#include "results/json_io.h"
#include "sample_results.h"

namespace fb {
namespace {

TEST(Golden, DocumentMatches) {
  const std::vector<Record> records = {
      testing::sample_latency_record(8), testing::sample_latency_record(4096),
      testing::sample_skipped_record(), testing::sample_failed_record()};
  RunInfo run = testing::sample_run_info();
  run.outcome = "failed";
  run.error = "1 of 4 records failed";
  testing::expect_matches_golden("document.json", document_text(run, records));
}

}  // namespace
}  // namespace fb
