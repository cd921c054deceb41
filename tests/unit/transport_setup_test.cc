// How the runner opens a transport for a memory kind (bench/runner/transport_setup.h): which
// kinds go through as they are, which the transport moves itself ("gpu-direct"), which are
// staged through host memory ("staged"), and how ranks agree to skip; and what the records of
// runs on GPU memory carry (the data path, the device time). Runs on any host: the transports
// are loopback and stand-ins built on it, and staging is done by a stand-in for the CUDA
// stager, which only wraps the context and counts its calls (the real one needs a GPU).
//
// The stager table is process-wide and can only be set, so every test that stages installs the
// stager it relies on first; nothing else in this binary stages a context.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "bootstrap/thread_bootstrap.h"
#include "collective/collective_record.h"
#include "collective/collective_run.h"
#include "fabricbench/transport/registry.h"
#include "runner/transport_setup.h"

namespace fb {
namespace {

using ::testing::HasSubstr;

// Passes every call to the context it wraps and adds entries to describe(): the shape of the
// CUDA stager's StagedContext, and of a transport whose library reports what memory it moves.
class ForwardingContext final : public Context {
 public:
  ForwardingContext(std::unique_ptr<Context> inner, std::map<std::string, std::string> extra)
      : inner_(std::move(inner)), extra_(std::move(extra)) {}

  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  const TransportOptions& options() const override { return inner_->options(); }
  Expected<Endpoint*> connect(int peer) override { return inner_->connect(peer); }
  Expected<std::unique_ptr<MemRegion>> register_memory(MemorySpan memory) override {
    return inner_->register_memory(memory);
  }
  Expected<std::unique_ptr<RemoteRegion>> import_region(int peer, ByteSpan packed) override {
    return inner_->import_region(peer, packed);
  }
  Status progress() override { return inner_->progress(); }
  Expected<bool> test(Request& request) override { return inner_->test(request); }
  Status wait_for_activity(const Deadline& deadline) override { return inner_->wait_for_activity(deadline); }
  Status close() override { return inner_->close(); }
  std::map<std::string, std::string> describe() const override {
    auto out = inner_->describe();
    for (const auto& [key, value] : extra_) out[key] = value;
    return out;
  }

 private:
  std::unique_ptr<Context> inner_;
  std::map<std::string, std::string> extra_;
};

// ---- stand-ins --------------------------------------------------------------------------

std::atomic<int> g_stand_in_stager_calls{0};

// Stands in for fb::cuda::stage_for_cuda: wraps the context as the staged path does.
Expected<std::unique_ptr<Context>> stand_in_stager(std::unique_ptr<Context> inner) {
  ++g_stand_in_stager_calls;
  return std::unique_ptr<Context>(new ForwardingContext(std::move(inner), {{"stager", "stand-in"}}));
}

// Stands in for the CUDA stager on a host without a device: it refuses, with the runtime's
// kind of reason.
Expected<std::unique_ptr<Context>> refusing_stager(std::unique_ptr<Context> inner) {
  ++g_stand_in_stager_calls;
  inner.reset();
  return Status::error(StatusCode::kUnavailable, "no CUDA device visible: stand-in", FB_HERE);
}

void install_stager(ContextStager stager) {
  register_context_stager(MemoryKind::kCudaDevice, stager);
  g_stand_in_stager_calls = 0;
}

Expected<std::unique_ptr<Context>> open_loopback_inside(Bootstrap& bootstrap, const TransportOptions& options,
                                                        std::map<std::string, std::string> extra) {
  FB_TRY_ASSIGN(auto inner, open_transport("loopback", bootstrap, options));
  return std::unique_ptr<Context>(new ForwardingContext(std::move(inner), std::move(extra)));
}

Status always_usable() { return {}; }

// A transport that declares device memory among its kinds, as cuda-ipc does.
FB_REGISTER_TRANSPORT((TransportInfo{
    .name = "test-declares-cuda",
    .description = "loopback declaring cuda memory (transport_setup tests)",
    .capabilities = {.send_recv = true, .ranks_as_threads = true, .gpu_direct = true,
                     .memory = {MemoryKind::kHost, MemoryKind::kCudaDevice}},
    .probe = &always_usable,
    .open = [](Bootstrap& b, const TransportOptions& o) { return open_loopback_inside(b, o, {}); },
}));

// A transport that declares host memory only but whose library says at run time that it moves
// CUDA memory too, as UCX built with CUDA does.
FB_REGISTER_TRANSPORT((TransportInfo{
    .name = "test-reports-cuda",
    .description = "loopback reporting memory_types host,cuda (transport_setup tests)",
    .capabilities = {.send_recv = true, .ranks_as_threads = true},
    .probe = &always_usable,
    .open = [](Bootstrap& b, const TransportOptions& o) {
      return open_loopback_inside(b, o, {{"memory_types", "host,cuda"}});
    },
}));

// The same, reporting a list without cuda (a name that merely contains it does not count).
FB_REGISTER_TRANSPORT((TransportInfo{
    .name = "test-reports-host",
    .description = "loopback reporting memory_types host,cuda-like (transport_setup tests)",
    .capabilities = {.send_recv = true, .ranks_as_threads = true},
    .probe = &always_usable,
    .open = [](Bootstrap& b, const TransportOptions& o) {
      return open_loopback_inside(b, o, {{"memory_types", "host,cudaish"}});
    },
}));

// ---- ranks as threads -------------------------------------------------------------------

// Runs `body(bootstrap)` on `np` ranks as threads and returns what each rank returned.
template <typename T>
std::vector<T> on_ranks(int np, const std::function<T(Bootstrap&)>& body) {
  auto group = std::make_shared<ThreadGroup>(np);
  std::vector<T> out(np);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < np; ++rank)
    threads.emplace_back([&, rank] {
      ThreadBootstrap bootstrap(group, rank);
      bootstrap.set_timeout(std::chrono::seconds(20));
      out[rank] = body(bootstrap);
    });
  for (auto& t : threads) t.join();
  return out;
}

// What a rank saw of open_for_memory, with the context closed again.
struct Opened {
  Status status;
  bool has_context = false;
  std::string data_path;
  std::string unsupported;
  std::map<std::string, std::string> described;
};

std::vector<Opened> open_on_ranks(const std::string& transport, MemoryKind memory, int np = 2) {
  TransportOptions options;
  options.timeout = std::chrono::seconds(20);
  return on_ranks<Opened>(np, [&](Bootstrap& bootstrap) {
    Opened seen;
    auto opened = open_for_memory(transport, memory, bootstrap, options);
    seen.status = opened.status();
    if (!opened.ok()) return seen;
    seen.has_context = opened.value().context != nullptr;
    seen.data_path = opened.value().data_path;
    seen.unsupported = opened.value().unsupported;
    if (seen.has_context) {
      seen.described = opened.value().context->describe();
      seen.status = opened.value().context->close();
    }
    return seen;
  });
}

// ---- open_for_memory --------------------------------------------------------------------

TEST(OpenForMemory, HostMemoryPassesThroughUntouched) {
  install_stager(&stand_in_stager);
  for (const Opened& rank : open_on_ranks("loopback", MemoryKind::kHost)) {
    ASSERT_TRUE(rank.status.ok()) << rank.status.to_string();
    EXPECT_TRUE(rank.has_context);
    EXPECT_EQ(rank.data_path, "");
    EXPECT_EQ(rank.unsupported, "");
    EXPECT_EQ(rank.described.count("stager"), 0u);
  }
  EXPECT_EQ(g_stand_in_stager_calls, 0);
}

TEST(OpenForMemory, PinnedHostMemoryGoesDirectOverAHostTransport) {
  install_stager(&stand_in_stager);
  for (const Opened& rank : open_on_ranks("loopback", MemoryKind::kCudaPinned)) {
    ASSERT_TRUE(rank.status.ok()) << rank.status.to_string();
    EXPECT_TRUE(rank.has_context);
    EXPECT_EQ(rank.data_path, "");  // pinned memory is host memory to the transport: nothing to label
    EXPECT_EQ(rank.unsupported, "");
  }
  EXPECT_EQ(g_stand_in_stager_calls, 0);
}

TEST(OpenForMemory, ATransportDeclaringTheKindIsGpuDirect) {
  install_stager(&stand_in_stager);
  for (const Opened& rank : open_on_ranks("test-declares-cuda", MemoryKind::kCudaDevice)) {
    ASSERT_TRUE(rank.status.ok()) << rank.status.to_string();
    EXPECT_TRUE(rank.has_context);
    EXPECT_EQ(rank.data_path, "gpu-direct");
    EXPECT_EQ(rank.unsupported, "");
  }
  EXPECT_EQ(g_stand_in_stager_calls, 0);
}

TEST(OpenForMemory, ALibraryReportingCudaMemoryIsGpuDirect) {
  install_stager(&stand_in_stager);
  for (const Opened& rank : open_on_ranks("test-reports-cuda", MemoryKind::kCudaDevice)) {
    ASSERT_TRUE(rank.status.ok()) << rank.status.to_string();
    EXPECT_EQ(rank.data_path, "gpu-direct");
  }
  EXPECT_EQ(g_stand_in_stager_calls, 0);
}

TEST(OpenForMemory, DeviceMemoryOverAHostOnlyTransportIsStaged) {
  install_stager(&stand_in_stager);
  for (const char* transport : {"loopback", "test-reports-host"}) {
    SCOPED_TRACE(transport);
    g_stand_in_stager_calls = 0;
    for (const Opened& rank : open_on_ranks(transport, MemoryKind::kCudaDevice)) {
      ASSERT_TRUE(rank.status.ok()) << rank.status.to_string();
      ASSERT_TRUE(rank.has_context);
      EXPECT_EQ(rank.data_path, "staged");
      EXPECT_EQ(rank.unsupported, "");
      EXPECT_EQ(rank.described.at("stager"), "stand-in");  // the context is the stager's wrapper
    }
    EXPECT_EQ(g_stand_in_stager_calls, 2);  // once per rank
  }
}

TEST(OpenForMemory, WithoutAStagerDeviceMemoryIsUnsupportedWithTheReason) {
  install_stager(nullptr);
  for (const Opened& rank : open_on_ranks("loopback", MemoryKind::kCudaDevice)) {
    ASSERT_TRUE(rank.status.ok()) << rank.status.to_string();  // opening worked; the kind cannot run
    EXPECT_FALSE(rank.has_context);
    EXPECT_EQ(rank.data_path, "");
    EXPECT_THAT(rank.unsupported, HasSubstr("transport 'loopback' cannot move cuda memory"));
    EXPECT_THAT(rank.unsupported, HasSubstr("no staged path for cuda memory"));
  }
}

TEST(OpenForMemory, AStagerThatRefusesLeavesItsReason) {
  install_stager(&refusing_stager);
  for (const Opened& rank : open_on_ranks("loopback", MemoryKind::kCudaDevice)) {
    ASSERT_TRUE(rank.status.ok()) << rank.status.to_string();
    EXPECT_FALSE(rank.has_context);
    EXPECT_THAT(rank.unsupported, HasSubstr("staged path is not available: no CUDA device visible: stand-in"));
  }
  EXPECT_EQ(g_stand_in_stager_calls, 2);
}

TEST(OpenForMemory, OpeningErrorsAreErrorsNotSkips) {
  for (const Opened& rank : open_on_ranks("no-such-transport", MemoryKind::kCudaDevice, 1)) {
    EXPECT_EQ(rank.status.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(rank.status.to_string(), HasSubstr("unknown transport 'no-such-transport'"));
  }
}

// ---- agree_on_skip ----------------------------------------------------------------------

// What every rank got back from agree_on_skip (an error as "error: ...").
std::vector<std::string> agree(const std::vector<std::string>& reasons) {
  return on_ranks<std::string>(static_cast<int>(reasons.size()), [&](Bootstrap& bootstrap) {
    auto agreed = agree_on_skip(bootstrap, reasons[bootstrap.rank()]);
    return agreed.ok() ? agreed.value() : "error: " + agreed.status().to_string();
  });
}

TEST(AgreeOnSkip, NobodySkipsWhenEveryRankCanRun) {
  EXPECT_EQ(agree({"", "", ""}), (std::vector<std::string>{"", "", ""}));
}

TEST(AgreeOnSkip, OneRanksReasonReachesEveryRankWithItsRank) {
  const std::string want = "rank 1: no CUDA device visible";
  EXPECT_EQ(agree({"", "no CUDA device visible", "", ""}), (std::vector<std::string>(4, want)));
}

TEST(AgreeOnSkip, AReasonSharedByEveryRankNeedsNoRank) {
  EXPECT_EQ(agree({"no GPU", "no GPU"}), (std::vector<std::string>(2, "no GPU")));
}

TEST(AgreeOnSkip, TheLowestRankWithAReasonWins) {
  for (const std::string& got : agree({"", "first", "second"}))
    EXPECT_EQ(got, "rank 1: first");
}

TEST(AgreeOnSkip, OneRankAloneKeepsItsReason) {
  EXPECT_EQ(agree({"why"}), std::vector<std::string>{"why"});
  EXPECT_EQ(agree({""}), std::vector<std::string>{""});
}

// ---- the record of a staged run --------------------------------------------------------

class CollectingSink final : public RecordSink {
 public:
  Status add(const Record& record) override {
    std::lock_guard lock(mutex_);
    records.push_back(record);
    return {};
  }
  std::mutex mutex_;
  std::vector<Record> records;
};

// The collective benchmark on device memory over loopback: the stand-in stages the context, so
// every record must say "staged". Without a GPU the device buffers cannot be allocated and every
// case is skipped with the allocator's reason, which still carries the full identity.
TEST(StagedRun, RecordsCarryTheStagedDataPath) {
  if (auto probe = allocate(MemoryKind::kCudaDevice, 1); probe.ok())
    GTEST_SKIP() << "a CUDA device is visible: the stand-in stager would hand device memory to "
                    "loopback's memcpy";
  install_stager(&stand_in_stager);
  CollectivePlan plan;
  plan.common.transport = "loopback";
  plan.common.memory = MemoryKind::kCudaDevice;
  plan.common.sizes = {64, 4096};
  plan.common.iterations = 2;
  plan.common.warmup_override = 1;
  plan.common.quiet = true;
  plan.common.transport_options.timeout = std::chrono::seconds(20);
  plan.algorithms = {"ring"};
  CollectingSink sink;
  const auto statuses = on_ranks<Status>(2, [&](Bootstrap& bootstrap) {
    return run_collective_rank(plan, bootstrap, bootstrap.rank() == 0 ? &sink : nullptr);
  });
  for (const Status& s : statuses) ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(g_stand_in_stager_calls, 2);
  ASSERT_EQ(sink.records.size(), 2u);
  for (const Record& r : sink.records) {
    SCOPED_TRACE(std::to_string(r.id.bytes));
    EXPECT_EQ(r.id.memory, "cuda");
    EXPECT_EQ(r.id.transport, "loopback");
    EXPECT_EQ(r.id.transport_options.at("data_path"), "staged");
    EXPECT_EQ(r.id.transport_options.at("stager"), "stand-in");  // described by the staged context
    EXPECT_EQ(r.status, RecordStatus::kSkipped);
    EXPECT_THAT(r.reason, HasSubstr("CUDA"));
  }
}

TEST(StagedRun, HostRunsCarryNoDataPath) {
  install_stager(&stand_in_stager);
  CollectivePlan plan;
  plan.common.transport = "loopback";
  plan.common.sizes = {64};
  plan.common.iterations = 2;
  plan.common.warmup_override = 1;
  plan.common.quiet = true;
  plan.common.transport_options.timeout = std::chrono::seconds(20);
  plan.algorithms = {"ring"};
  CollectingSink sink;
  const auto statuses = on_ranks<Status>(2, [&](Bootstrap& bootstrap) {
    return run_collective_rank(plan, bootstrap, bootstrap.rank() == 0 ? &sink : nullptr);
  });
  for (const Status& s : statuses) ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].status, RecordStatus::kOk) << sink.records[0].reason;
  EXPECT_EQ(sink.records[0].id.transport_options.count("data_path"), 0u);
  ASSERT_TRUE(sink.records[0].collective);
  EXPECT_FALSE(sink.records[0].collective->device_time_us);  // host memory has no device clock
  EXPECT_EQ(g_stand_in_stager_calls, 0);
}

// ---- device time in the record ---------------------------------------------------------

CollectiveRankResult timed_rank(int rank, double elapsed_s, std::optional<double> device_elapsed_s) {
  CollectiveRankResult r;
  r.rank = rank;
  r.host = "h";
  r.iterations = 10;
  r.elapsed_s = elapsed_s;
  r.device_elapsed_s = device_elapsed_s;
  r.checked = true;
  r.samples_us.assign(10, elapsed_s * 1e5);
  return r;
}

CollectiveCase device_case() {
  CollectiveCase c;
  c.shape = {CollectiveKind::kAllReduce, DataType::kFloat32, ReduceOp::kSum, 2, 1000};
  c.identity.benchmark = "collective";
  c.identity.memory = "cuda";
  c.identity.ranks = 2;
  c.identity.bytes = 4000;
  return c;
}

TEST(DeviceTime, TravelsWithTheRankResult) {
  for (std::optional<double> device : {std::optional<double>(), std::optional<double>(0.0125)}) {
    auto back = deserialize_collective_result(serialize(timed_rank(1, 0.02, device)));
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(back.value().device_elapsed_s, device);
    EXPECT_DOUBLE_EQ(back.value().elapsed_s, 0.02);
  }
}

TEST(DeviceTime, IsTheSlowestRanksMeanPerIteration) {
  // Rank 1 is the slowest on the host's clock; its device time is the record's, even though
  // rank 0's device time is larger.
  const Record r = build_collective_record(device_case(), {timed_rank(0, 0.010, 0.019), timed_rank(1, 0.020, 0.018)});
  ASSERT_TRUE(r.collective);
  EXPECT_EQ(r.collective->slowest_rank, 1);
  EXPECT_DOUBLE_EQ(r.collective->time_us, 2000);
  ASSERT_TRUE(r.collective->device_time_us);
  EXPECT_DOUBLE_EQ(*r.collective->device_time_us, 1800);
}

TEST(DeviceTime, IsLeftOutWhenTheSlowestRankHadNoDeviceClock) {
  const Record r = build_collective_record(device_case(), {timed_rank(0, 0.010, 0.009), timed_rank(1, 0.020, {})});
  ASSERT_TRUE(r.collective);
  EXPECT_FALSE(r.collective->device_time_us);
}

}  // namespace
}  // namespace fb
