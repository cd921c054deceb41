#include "results/json_io.h"
#include "results/result_reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sample_results.h"

namespace fb {
namespace {

using nlohmann::json;
using testing::sample_failed_record;
using testing::sample_latency_record;
using testing::sample_run_info;
using testing::sample_skipped_record;

Record read_back(const Record& r) {
  // Through text, as the stream and the document carry it.
  Expected<Record> back = record_from_json(json::parse(to_json(r).dump()));
  EXPECT_TRUE(back.ok()) << back.status().to_string();
  return back.ok() ? back.value() : Record{};
}

TEST(JsonIo, RecordWithEveryFieldRoundTrips) {
  Record r = sample_latency_record(4096);
  r.id.dtype = "fp32";
  r.id.reduce_op = "sum";
  r.id.algorithm = "ring";
  EXPECT_EQ(read_back(r), r);
}

TEST(JsonIo, CollectiveBlockRoundTrips) {
  Record r = sample_latency_record(4096);
  r.id.benchmark = "allreduce";
  r.collective = CollectiveResult{.count = 1022, .bytes_requested = 4096, .time_us = 12.5,
                                  .algbw_gbytes_per_s = 0.33, .busbw_gbytes_per_s = 0.49,
                                  .checked = true, .wrong = 1, .slowest_rank = 3};
  EXPECT_EQ(read_back(r), r);
  EXPECT_EQ(to_json(r)["collective"]["wrong"], 1);
  EXPECT_FALSE(to_json(r)["collective"].contains("device_time_us"));  // only runs on device memory
  EXPECT_FALSE(to_json(sample_latency_record(8)).contains("collective"));
}

TEST(JsonIo, DeviceTimeRoundTripsAndIsNullWhenNotFinite) {
  Record r = sample_latency_record(4096);
  r.id.memory = "cuda";
  r.collective = CollectiveResult{.count = 1024, .bytes_requested = 4096, .time_us = 12.5,
                                  .algbw_gbytes_per_s = 0.33, .busbw_gbytes_per_s = 0.49,
                                  .checked = true, .wrong = 0, .slowest_rank = 1, .device_time_us = 11.75};
  EXPECT_EQ(to_json(r)["collective"]["device_time_us"], 11.75);
  EXPECT_EQ(read_back(r), r);

  r.collective->device_time_us = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(to_json(r)["collective"]["device_time_us"].is_null());
  const Record back = read_back(r);
  ASSERT_TRUE(back.collective && back.collective->device_time_us);
  EXPECT_TRUE(std::isnan(*back.collective->device_time_us));

  json j = to_json(r);
  j["collective"]["device_time_us"] = "11us";
  const auto bad = record_from_json(j);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "collective.device_time_us: expected a number or null, got string");
}

TEST(JsonIo, SkippedRecordCarriesNoNumbers) {
  const Record r = sample_skipped_record();
  const json j = to_json(r);
  EXPECT_EQ(j["status"], "skipped");
  EXPECT_EQ(j["reason"], r.reason);
  for (const char* block : {"latency_us", "bandwidth", "msg_rate", "samples", "per_rank"})
    EXPECT_FALSE(j.contains(block)) << block;
  EXPECT_EQ(read_back(r), r);
}

TEST(JsonIo, OptionalIdentityPartsAreLeftOutWhenUnset) {
  const json j = to_json(sample_latency_record(8));
  for (const char* key : {"dtype", "reduce_op", "algorithm"})
    EXPECT_FALSE(j["identity"].contains(key));
}

TEST(JsonIo, NonFiniteNumbersAreWrittenAsNullAndReadAsNaN) {
  Record r = sample_latency_record(8);
  r.latency_us.p999 = std::numeric_limits<double>::quiet_NaN();
  r.bandwidth.gbits_per_s = std::numeric_limits<double>::infinity();
  r.samples_us[1] = -std::numeric_limits<double>::infinity();
  const json j = to_json(r);
  EXPECT_TRUE(j["latency_us"]["p999"].is_null());
  EXPECT_TRUE(j["bandwidth"]["gbits_per_s"].is_null());
  EXPECT_TRUE(j["samples"]["values_us"][1].is_null());
  const std::string text = j.dump();
  EXPECT_EQ(text.find("nan"), std::string::npos);
  EXPECT_EQ(text.find("inf"), std::string::npos);
  const Record back = read_back(r);
  EXPECT_TRUE(std::isnan(back.latency_us.p999));
  EXPECT_TRUE(std::isnan(back.bandwidth.gbits_per_s));
  EXPECT_EQ(back.latency_us.p50, r.latency_us.p50);
}

TEST(JsonIo, DocumentRoundTrips) {
  const RunInfo run = sample_run_info();
  const std::vector<Record> records = {sample_latency_record(8), sample_skipped_record(),
                                       sample_latency_record(4096)};
  Expected<ResultDocument> doc = document_from_json(json::parse(to_json(run, records).dump()));
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->schema_version, kResultsSchemaVersion);
  EXPECT_EQ(doc->run, run);
  EXPECT_EQ(doc->records, records);
}

TEST(JsonIo, DocumentNamesTheTool) {
  const json j = to_json(sample_run_info(), {});
  EXPECT_EQ(j["tool"]["name"], "fabricbench");
  EXPECT_EQ(j["tool"]["git_sha"], "0123456789ab");
  EXPECT_TRUE(j["records"].is_array());
  EXPECT_FALSE(j.contains("error"));  // only a failed run explains itself
}

TEST(JsonIo, FailedDocumentCarriesItsError) {
  RunInfo run = sample_run_info();
  run.outcome = "failed";
  run.error = "rank 1 on node02 stopped answering";
  Expected<ResultDocument> doc = document_from_json(to_json(run, {sample_failed_record()}));
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->run.outcome, "failed");
  EXPECT_EQ(doc->run.error, run.error);
}

TEST(JsonIo, ExampleDocumentReads) {
  Expected<ResultDocument> doc =
      load_document(std::string(FB_SOURCE_DIR) + "/results/examples/p2p-latency-ucx.json");
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  ASSERT_EQ(doc->records.size(), 3u);
  EXPECT_EQ(doc->records[1].id.bytes, 4096u);
  EXPECT_EQ(doc->records[2].status, RecordStatus::kSkipped);
  EXPECT_TRUE(std::isnan(doc->records[0].per_rank[1].latency_us.p50));  // null: not timed
  EXPECT_EQ(doc->run.hosts.size(), 2u);
}

TEST(JsonIo, HostRoundTrips) {
  const HostInfo host = sample_run_info().hosts.at(0);
  Expected<HostInfo> back = host_from_json(json::parse(to_json(host).dump()));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back.value(), host);
}

TEST(JsonIo, HostWithGpusRoundTrips) {
  RunInfo run = sample_run_info();
  run.hosts.push_back(testing::sample_gpu_host());
  const json j = to_json(run, {sample_latency_record(8)});
  const json& gpu = j["hosts"][1]["gpus"][0];
  EXPECT_EQ(gpu["name"], "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(gpu["pci_bus_id"], "00000000:19:00.0");
  EXPECT_EQ(gpu["memory_bytes"], uint64_t{81559} << 20);
  EXPECT_EQ(gpu["driver_version"], "550.54.15");
  EXPECT_TRUE(j["hosts"][1]["gpu_topology"].is_string());
  Expected<ResultDocument> doc = document_from_json(json::parse(j.dump()));
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->run, run);
}

TEST(JsonIo, CountersRoundTripAndAbsentStaysAbsent) {
  const Record r = testing::sample_counters_record();
  const json j = json::parse(record_line(r));
  ASSERT_EQ(j["counters"].size(), 4u);
  EXPECT_EQ(j["counters"][1]["source"], "rdma-hw");
  EXPECT_EQ(j["counters"][1]["port"], 1);
  EXPECT_EQ(j["counters"][1]["deltas"]["np_cnp_sent"], 0);  // present and unmoved
  EXPECT_EQ(j["counters"][1]["reset"], json::array({"local_ack_timeout_err"}));
  EXPECT_FALSE(j["counters"][1]["deltas"].contains("local_ack_timeout_err"));
  EXPECT_FALSE(j["counters"][2].contains("port"));
  EXPECT_FALSE(j["counters"][2].contains("reset"));
  EXPECT_EQ(j["counters_note"], r.counters_note);
  Expected<Record> back = record_from_json(j);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back.value(), r);
  // A record without counters says nothing about them.
  const json plain = json::parse(record_line(sample_latency_record(8)));
  EXPECT_FALSE(plain.contains("counters"));
  EXPECT_FALSE(plain.contains("counters_note"));
}

TEST(JsonIo, CounterErrorsNameTheField) {
  json j = json::parse(record_line(testing::sample_counters_record()));
  j["counters"][2]["deltas"]["rx_bytes"] = -5;
  Expected<Record> back = record_from_json(j);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().message(), "counters[2].deltas.rx_bytes: expected a non-negative integer, got -5");
  j = json::parse(record_line(testing::sample_counters_record()));
  j["counters"][0].erase("deltas");
  back = record_from_json(j);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().message(), "counters[0].deltas: required field is missing");
}

TEST(JsonIo, HostInventoryRoundTrips) {
  HostInfo host = testing::sample_inventory_host();
  json j = to_json(host);
  EXPECT_EQ(j["cpu_topology"], json({{"sockets", 2}, {"cores", 64}, {"threads", 128}}));
  EXPECT_EQ(j["numa_nodes"][0]["memory_bytes"], uint64_t{256} << 30);
  EXPECT_FALSE(j["numa_nodes"][1].contains("memory_bytes"));  // unknown: left out, not 0
  EXPECT_EQ(j["network_interfaces"][0]["speed_mbps"], 200000);
  EXPECT_FALSE(j["network_interfaces"][1].contains("speed_mbps"));
  EXPECT_EQ(j["rdma_devices"][0]["ports"][0]["gids"][1]["ipv4"], "10.0.0.1");
  EXPECT_FALSE(j.contains("absent"));
  Expected<HostInfo> back = host_from_json(json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back.value(), host);
  // A host without RDMA says why instead of an empty list.
  host.rdma_devices = {{}, "no RDMA devices: /sys/class/infiniband does not exist (no RDMA driver loaded)"};
  j = to_json(host);
  EXPECT_FALSE(j.contains("rdma_devices"));
  EXPECT_EQ(j["absent"]["rdma_devices"], host.rdma_devices.absent);
  back = host_from_json(json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back.value(), host);
  j["rdma_devices"] = json::array({{{"name", "mlx5_0"}, {"ports", json::array()}}});
  back = host_from_json(j);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().message(), "rdma_devices[0].netdevs: required field is missing");
}

TEST(JsonIo, HostWithoutGpusHasNoGpuFields) {
  const json j = to_json(sample_run_info().hosts.at(0));
  EXPECT_FALSE(j.contains("gpus"));
  EXPECT_FALSE(j.contains("gpu_topology"));
  HostInfo host = testing::sample_gpu_host();
  host.gpus.at(0).uuid.clear();  // uuid is written only when nvidia-smi gave one
  EXPECT_FALSE(to_json(host)["gpus"][0].contains("uuid"));
  EXPECT_TRUE(to_json(host)["gpus"][1].contains("uuid"));
}

TEST(JsonIo, OlderMinorVersionsRead) {
  // A 1.1 or 1.0 document is this document without the fields added since.
  for (const char* version : {"1.1", "1.0"}) {
    json j = to_json(sample_run_info(), {sample_latency_record(8)});
    j["schema_version"] = version;
    Expected<ResultDocument> doc = document_from_json(j);
    ASSERT_TRUE(doc.ok()) << version << ": " << doc.status().to_string();
    EXPECT_EQ(doc->schema_version, version);
    EXPECT_TRUE(doc->run.hosts.at(0).gpus.empty());
    EXPECT_EQ(doc->run.hosts.at(0).gpu_topology, "");
  }
}

TEST(JsonIo, GpuErrorsNameTheField) {
  json j = to_json(testing::sample_gpu_host());
  j["gpus"][1].erase("pci_bus_id");
  Expected<HostInfo> host = host_from_json(j);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().message(), "gpus[1].pci_bus_id: required field is missing");
  j = to_json(testing::sample_gpu_host());
  j["gpus"][0]["memory_bytes"] = "80GB";
  host = host_from_json(j);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().message(),
            "gpus[0].memory_bytes: expected a non-negative integer, got string");
}

// ---- errors name the field ----

std::string record_error(const json& j) {
  Expected<Record> r = record_from_json(j);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(JsonIo, MissingFieldIsNamed) {
  json j = to_json(sample_latency_record(8));
  j["identity"].erase("bytes");
  EXPECT_EQ(record_error(j), "identity.bytes: required field is missing");
}

TEST(JsonIo, WrongTypeIsNamed) {
  json j = to_json(sample_latency_record(8));
  j["latency_us"]["p50"] = "fast";
  EXPECT_EQ(record_error(j), "latency_us.p50: expected a number or null, got string");
  j = to_json(sample_latency_record(8));
  j["per_rank"][1]["rank"] = -1.5;
  EXPECT_EQ(record_error(j), "per_rank[1].rank: expected an integer, got number");
  j = to_json(sample_latency_record(8));
  j["identity"]["bytes"] = -8;
  EXPECT_EQ(record_error(j), "identity.bytes: expected a non-negative integer, got -8");
}

TEST(JsonIo, UnknownStatusIsNamed) {
  json j = to_json(sample_latency_record(8));
  j["status"] = "passed";
  EXPECT_EQ(record_error(j), "status: expected \"ok\", \"skipped\" or \"failed\", got \"passed\"");
}

TEST(JsonIo, OkRecordNeedsItsNumbers) {
  json j = to_json(sample_latency_record(8));
  j.erase("latency_us");
  EXPECT_EQ(record_error(j), "latency_us: required field is missing");
}

TEST(JsonIo, SkippedRecordNeedsAReason) {
  json j = to_json(sample_skipped_record());
  j.erase("reason");
  EXPECT_EQ(record_error(j), "reason: required field is missing");
}

TEST(JsonIo, MoreSamplesThanTheCapIsRejected) {
  json j = to_json(sample_latency_record(8));
  j["samples"]["cap"] = 2;
  EXPECT_NE(record_error(j).find("more than the cap of 2"), std::string::npos);
}

TEST(JsonIo, DocumentErrorsNameTheRecord) {
  json j = to_json(sample_run_info(), {sample_latency_record(8), sample_latency_record(16)});
  j["records"][1]["identity"]["ranks"] = "two";
  Expected<ResultDocument> doc = document_from_json(j);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().message(), "records[1].identity.ranks: expected an integer, got string");
}

TEST(JsonIo, NewerMinorVersionWithUnknownFieldsReads) {
  json j = to_json(sample_run_info(), {sample_latency_record(8)});
  j["schema_version"] = "1.7";
  j["nics"] = json::array();
  j["records"][0]["verdict"] = "pass";
  Expected<ResultDocument> doc = document_from_json(j);
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->schema_version, "1.7");
}

TEST(JsonIo, OtherMajorVersionIsRefused) {
  json j = to_json(sample_run_info(), {});
  j["schema_version"] = "2.0";
  Expected<ResultDocument> doc = document_from_json(j);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().message(),
            "schema_version: version \"2.0\" is not readable by this build (reads 1.x)");
}

TEST(JsonIo, NotAnObjectIsRefused) {
  Expected<ResultDocument> doc = document_from_json(json::array());
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().message(), "document: expected an object, got array");
}

TEST(JsonIo, CheckRecordAcceptsTheSamples) {
  EXPECT_TRUE(check_record(sample_latency_record(8)).ok());
  EXPECT_TRUE(check_record(sample_skipped_record()).ok());
  EXPECT_TRUE(check_record(sample_failed_record()).ok());
}

TEST(JsonIo, CheckRecordRefusesAFailureWithoutReason) {
  Record r = sample_failed_record();
  r.reason.clear();
  Status s = check_record(r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "invalid record: failed without a reason");
}

TEST(JsonIo, CheckRecordRefusesMissingRanks) {
  Record r = sample_latency_record(8);
  r.id.ranks = 0;
  EXPECT_FALSE(check_record(r).ok());
}

}  // namespace
}  // namespace fb
