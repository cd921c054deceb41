#include "collective/collective_run.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "cli/sizes.h"
#include "collective/algorithm_choice.h"
#include "collective/collective_data.h"
#include "collective/collective_record.h"
#include "collective/mpi_reference.h"
#include "counters/counter_probe.h"
#include "fabricbench/collectives/reduce.h"
#include "fabricbench/transport/registry.h"
#include "runner/progress.h"
#include "runner/sample_clock.h"
#include "runner/transport_setup.h"

namespace fb {
namespace {

constexpr uint64_t kDefaultWarmup = 5;
// Without --iters or --duration each case runs for about this long, within these counts.
constexpr double kDefaultCaseSeconds = 0.1;
constexpr uint64_t kDefaultMinIterations = 5;
constexpr uint64_t kDefaultMaxIterations = 1000;
constexpr double kSentinel = 253;  // output before a checked run; never a correct value

std::string host_name() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

// nccl-tests' size: the whole buffer, rounded down to whole elements in equal blocks.
CollectiveShape shape_for(CollectiveKind kind, DataType dtype, ReduceOp op, int ranks, uint64_t bytes) {
  CollectiveShape shape{kind, dtype, op, ranks, 0};
  const uint64_t unit = element_size(dtype) * static_cast<uint64_t>(ranks);
  shape.count = static_cast<size_t>(bytes / unit) * static_cast<size_t>(ranks);
  return shape;
}

bool reduces(CollectiveKind kind) {
  return kind == CollectiveKind::kAllReduce || kind == CollectiveKind::kReduceScatter;
}

// One algorithm to run for one case: a registered one, or the MPI library's.
struct Runner {
  const Algorithm* algorithm = nullptr;  // null: the mpi reference
  std::string label;                     // as recorded: "ring", "auto:ring", "mpi"
};

Expected<std::vector<Runner>> runners_for(const CollectivePlan& plan, int ranks, uint64_t bytes) {
  std::vector<Runner> out;
  for (const std::string& name : plan.algorithms) {
    if (name == kMpiReference) {
      out.push_back({nullptr, std::string(kMpiReference)});
    } else if (name == "auto") {
      FB_TRY_ASSIGN(const Algorithm* a, choose_algorithm(plan.kind, ranks, bytes));
      out.push_back({a, "auto:" + std::string(a->name)});
    } else if (name == "all") {
      for (const Algorithm* a : AlgorithmRegistry::instance().for_kind(plan.kind))
        out.push_back({a, std::string(a->name)});
    } else {
      FB_TRY_ASSIGN(const Algorithm* a, find_algorithm(plan.kind, name));
      out.push_back({a, std::string(a->name)});
    }
  }
  return out;
}

struct RunBuffers {
  std::unique_ptr<Buffer> input, output, scratch, staging;
};

// Buffers for the largest case of the plan, allocated once outside every timed loop.
Expected<RunBuffers> allocate_buffers(const CollectivePlan& plan, int ranks, int local_rank) {
  size_t input = 0, output = 0, scratch = 0;
  for (DataType dtype : plan.dtypes) {
    for (uint64_t bytes : plan.common.sizes) {
      const CollectiveShape shape = shape_for(plan.kind, dtype, ReduceOp::kSum, ranks, bytes);
      input = std::max(input, shape.input_bytes());
      output = std::max(output, shape.output_bytes());
      FB_TRY_ASSIGN(auto runners, runners_for(plan, ranks, bytes));
      for (const Runner& r : runners)
        if (r.algorithm) scratch = std::max(scratch, r.algorithm->scratch_bytes(shape));
    }
  }
  const AllocOptions options{
      .hugepages = plan.common.hugepages, .device = plan.common.device.value_or(-1), .local_rank = local_rank};
  const MemoryKind kind = plan.common.memory;
  RunBuffers b;
  FB_TRY_ASSIGN(b.input, allocate(kind, input, options));
  FB_TRY_ASSIGN(b.output, allocate(kind, output, options));
  FB_TRY_ASSIGN(b.scratch, allocate(kind, scratch, options));
  FB_TRY_ASSIGN(b.staging, allocate_host(std::max(input, output)));
  return b;
}

CollectiveBuffers views(const RunBuffers& b, const CollectiveShape& shape) {
  return {{b.input->bytes(), shape.input_bytes()}, {b.output->bytes(), shape.output_bytes()},
          {b.scratch->bytes(), b.scratch->size()}};
}

class CaseRun {
 public:
  CaseRun(const CollectivePlan& plan, Bootstrap& bootstrap, const Communicator* comm, RunBuffers& buffers)
      : plan_(plan), bootstrap_(bootstrap), comm_(comm), buffers_(buffers) {}

  // This rank's part of one case. A transport error is returned in the result's status.
  CollectiveRankResult run(const CollectiveShape& shape, const Runner& runner) {
    CollectiveRankResult result;
    result.rank = bootstrap_.rank();
    result.host = host_name();
    result.status = measure(shape, runner, result);
    return result;
  }

 private:
  Status invoke(const CollectiveShape& shape, const Runner& runner) {
    const CollectiveBuffers b = views(buffers_, shape);
    if (!runner.algorithm) return run_mpi_reference(shape, b);
    return runner.algorithm->run(*comm_, shape, b);
  }

  Status prepare(const CollectiveShape& shape, const CollectiveData& data) {
    FB_TRY(fill_input(data, shape, bootstrap_.rank(), buffers_.input->span(), buffers_.staging->span(),
                      plan_.corruption));
    if (!plan_.check) return ok_status();
    return fill_buffer(buffers_.output->span(), shape.output_count(), shape.dtype,
                       ValueScheme::filled_with(kSentinel), buffers_.staging->span());
  }

  // Every rank times one iteration; the slowest decides how many fit the time budget, so all
  // ranks agree on the count.
  Expected<uint64_t> agree_iterations(const CollectiveShape& shape, const Runner& runner) {
    if (plan_.common.iterations) return *plan_.common.iterations;
    const SampleClock& clock = SampleClock::instance();
    FB_TRY(bootstrap_.barrier());
    const auto start = clock.now();
    FB_TRY(invoke(shape, runner));
    const double mine_s = clock.to_us(clock.now() - start) * 1e-6;
    FB_TRY_ASSIGN(auto all, allgather_value(bootstrap_, mine_s));
    const double slowest = std::max(*std::max_element(all.begin(), all.end()), 1e-9);
    const bool bounded = plan_.common.duration_s > 0;
    const double budget = bounded ? plan_.common.duration_s : kDefaultCaseSeconds;
    const double fit = std::floor(budget / slowest);
    const uint64_t lowest = bounded ? 1 : kDefaultMinIterations;
    const uint64_t highest = bounded ? uint64_t{1} << 40 : kDefaultMaxIterations;
    return std::clamp<uint64_t>(static_cast<uint64_t>(std::min(fit, 1e15)), lowest, highest);
  }

  // A timer on the clock of the device that holds the buffers, or null for memory without one
  // (host and pinned memory: the host clock is the only one).
  Expected<std::unique_ptr<DeviceTimer>> device_timer() const {
    auto kernel = reduce_kernel_for(buffers_.output->kind());
    if (!kernel.ok()) return std::unique_ptr<DeviceTimer>();
    auto timer = kernel.value()->make_timer(buffers_.output->data());
    if (!timer.ok() && timer.status().code() == StatusCode::kUnsupported) return std::unique_ptr<DeviceTimer>();
    return timer;
  }

  Status measure(const CollectiveShape& shape, const Runner& runner, CollectiveRankResult& result) {
    FB_TRY_ASSIGN(CollectiveData data, CollectiveData::make(shape));
    FB_TRY(prepare(shape, data));
    const uint64_t warmup = plan_.common.warmup_override.value_or(kDefaultWarmup);
    for (uint64_t i = 0; i < warmup; ++i) FB_TRY(invoke(shape, runner));
    FB_TRY_ASSIGN(result.iterations, agree_iterations(shape, runner));
    FB_TRY_ASSIGN(std::unique_ptr<DeviceTimer> timer, device_timer());

    const SampleClock& clock = SampleClock::instance();
    const size_t kept = static_cast<size_t>(std::min<uint64_t>(result.iterations, kCollectiveSampleCap));
    std::vector<SampleClock::Ticks> ends(kept);
    FB_TRY(bootstrap_.barrier());
    // The device marks go outside the host's: both clocks see the same iterations, and the
    // host's time does not include recording the marks.
    if (timer) FB_TRY(timer->start());
    const auto start = clock.now();
    for (uint64_t i = 0; i < result.iterations; ++i) {
      FB_TRY(invoke(shape, runner));
      if (i < kept) ends[i] = clock.now();
    }
    const auto stop = clock.now();
    if (timer) FB_TRY(timer->stop());
    result.elapsed_s = clock.to_us(stop - start) * 1e-6;
    if (timer) {
      FB_TRY_ASSIGN(const double device_us, timer->elapsed_us());
      result.device_elapsed_s = device_us * 1e-6;
    }
    result.samples_us.reserve(kept);
    for (size_t i = 0; i < kept; ++i) result.samples_us.push_back(clock.to_us(ends[i] - (i ? ends[i - 1] : start)));

    if (!plan_.check) return ok_status();
    result.checked = true;
    FB_TRY_ASSIGN(result.wrong, count_wrong_output(data, shape, bootstrap_.rank(), buffers_.output->span(),
                                                   buffers_.staging->span()));
    return ok_status();
  }

  const CollectivePlan& plan_;
  Bootstrap& bootstrap_;
  const Communicator* comm_;
  RunBuffers& buffers_;
};

CollectiveRankResult failed_before_start(const Bootstrap& bootstrap, Status why) {
  CollectiveRankResult result;
  result.rank = bootstrap.rank();
  result.host = host_name();
  result.status = std::move(why);
  return result;
}

RecordIdentity identity_for(const CollectivePlan& plan, const CollectiveShape& shape, const Runner& runner,
                            const std::map<std::string, std::string>& transport_details) {
  RecordIdentity id;
  id.benchmark = "collective";
  id.test = std::string(to_string(plan.kind));
  id.op = runner.algorithm ? "send" : "mpi";
  id.transport = runner.algorithm ? plan.common.transport : "mpi";
  if (runner.algorithm) {
    id.transport_options = transport_details;
    for (const auto& [key, value] : plan.common.transport_options.settings) id.transport_options[key] = value;
    id.transport_options["chunk_bytes"] = std::to_string(plan.chunk_bytes);
  }
  id.memory = std::string(to_string(plan.common.memory));
  id.ranks = shape.ranks;
  id.bytes = shape.count * shape.element_bytes();
  id.dtype = std::string(to_string(shape.dtype));
  if (reduces(plan.kind)) id.reduce_op = std::string(to_string(shape.op));
  id.algorithm = runner.label;
  return id;
}

Record skipped(RecordIdentity identity, std::string reason) {
  Record r;
  r.id = std::move(identity);
  r.status = RecordStatus::kSkipped;
  r.reason = std::move(reason);
  return r;
}

// Why fabricbench's own algorithms cannot run over this transport, or empty.
std::string algorithms_unsupported(const CollectivePlan& plan, const Capabilities& caps,
                                   const Expected<Communicator>& comm) {
  if (!caps.send_recv) return "transport '" + plan.common.transport + "' has no send/recv";
  if (!comm.ok()) return comm.status().message();
  return {};
}

Status gather_and_report(Bootstrap& bootstrap, const CollectiveCase& c, const CollectiveRankResult& mine,
                         RecordSink* sink) {
  auto gathered = bootstrap.allgather(serialize(mine));
  if (!gathered.ok()) {
    if (sink) (void)sink->add(build_collective_record(c, {mine}));
    return gathered.status();
  }
  std::vector<CollectiveRankResult> all;
  Status first_failure;
  for (const Bytes& bytes : gathered.value()) {
    FB_TRY_ASSIGN(CollectiveRankResult r, deserialize_collective_result(bytes));
    if (!r.status.ok() && first_failure.ok()) first_failure = r.status.with_context("rank " + std::to_string(r.rank));
    all.push_back(std::move(r));
  }
  const Record record = build_collective_record(c, all);
  if (sink) FB_TRY(sink->add(record));
  if (!first_failure.ok()) return first_failure;
  if (record.status == RecordStatus::kFailed)
    return Status::error(StatusCode::kDataCorruption, std::string(to_string(c.shape.kind)) + " " +
                                                          *c.identity.algorithm + ": " + record.reason,
                         FB_HERE);
  return ok_status();
}

// Every case of the plan, in the order they run.
template <typename Visit>
Status for_each_case(const CollectivePlan& plan, int ranks, Visit&& visit) {
  const std::vector<ReduceOp> ops = reduces(plan.kind) ? plan.ops : std::vector<ReduceOp>{ReduceOp::kSum};
  for (DataType dtype : plan.dtypes)
    for (ReduceOp op : ops)
      for (uint64_t bytes : plan.common.sizes) {
        const CollectiveShape shape = shape_for(plan.kind, dtype, op, ranks, bytes);
        FB_TRY_ASSIGN(auto runners, runners_for(plan, ranks, bytes));
        for (const Runner& runner : runners) FB_TRY(visit(shape, bytes, runner));
      }
  return ok_status();
}

}  // namespace

Status run_collective_rank(const CollectivePlan& plan, Bootstrap& bootstrap, RecordSink* sink) {
  const TransportInfo* info = TransportRegistry::instance().find(plan.common.transport);
  TransportOptions options = plan.common.transport_options;
  options.one_sided = false;
  FB_TRY_ASSIGN(OpenedTransport opened, open_for_memory(plan.common.transport, plan.common.memory, bootstrap, options));
  std::string skip_all = opened.unsupported;
  std::optional<Expected<Communicator>> comm;
  RunBuffers buffers;
  if (skip_all.empty()) {
    CommunicatorOptions comm_options;
    comm_options.chunk_bytes = plan.chunk_bytes;
    comm_options.timeout = plan.common.transport_options.timeout;
    comm.emplace(Communicator::create(*opened.context, plan.common.memory, comm_options));
    auto allocated = allocate_buffers(plan, bootstrap.size(), bootstrap.local_rank());
    if (allocated.ok()) {
      buffers = std::move(allocated.value());
    } else if (is_unsupported_here(allocated.status())) {
      skip_all = allocated.status().message();
    } else {
      return allocated.status();
    }
  }
  FB_TRY_ASSIGN(skip_all, agree_on_skip(bootstrap, skip_all));
  // A connected endpoint lets the transport describe the path it chose (UCX lanes), which
  // every record then carries; the algorithms would connect this peer anyway.
  if (skip_all.empty() && bootstrap.size() > 1) {
    FB_TRY(opened.context->connect((bootstrap.rank() + 1) % bootstrap.size()).status());
  }
  auto details = opened.context ? opened.context->describe() : std::map<std::string, std::string>{};
  if (!opened.data_path.empty()) details["data_path"] = opened.data_path;
  const std::string own_unsupported =
      skip_all.empty() ? algorithms_unsupported(plan, info->capabilities, *comm) : skip_all;
  CaseRun case_run(plan, bootstrap, comm && comm->ok() ? &comm->value() : nullptr, buffers);
  CounterProbe counters = CounterProbe::for_rank(bootstrap, details, host_name());

  size_t total = 0;
  FB_TRY(for_each_case(plan, bootstrap.size(), [&](const CollectiveShape&, uint64_t, const Runner&) {
    ++total;
    return ok_status();
  }));
  Progress progress(sink && Progress::wanted(plan.common.quiet), total);
  Status run_outcome;
  FB_TRY(for_each_case(plan, bootstrap.size(), [&](const CollectiveShape& shape, uint64_t bytes, const Runner& runner) {
    progress.step("[" + std::string(to_string(plan.kind)) + " " + runner.label + " " +
                  std::string(to_string(shape.dtype)) + "] " + format_size(bytes) + " B");
    CollectiveCase c{identity_for(plan, shape, runner, details), shape, bytes,
                     plan.common.warmup_override.value_or(kDefaultWarmup)};
    std::string why = runner.algorithm ? own_unsupported
                                       : mpi_reference_unsupported(shape, plan.common.memory, bootstrap);
    if (why.empty() && !skip_all.empty()) why = skip_all;
    if (!why.empty()) {
      progress.clear();
      if (sink) FB_TRY(sink->add(skipped(std::move(c.identity), why)));
      return ok_status();
    }
    // The counters are read outside the timed loops, between barriers so that every rank's
    // traffic of this case falls between the two readings of its host.
    counters.before();
    const Status started = bootstrap.barrier();
    CollectiveRankResult mine = started.ok() ? case_run.run(shape, runner) : failed_before_start(bootstrap, started);
    if (started.ok() && bootstrap.barrier().ok()) mine.counters = counters.after();
    progress.clear();
    Status reported = gather_and_report(bootstrap, c, mine, sink);
    if (reported.code() != StatusCode::kDataCorruption) FB_TRY(reported);
    if (run_outcome.ok()) run_outcome = reported;
    return ok_status();
  }));
  if (opened.context) FB_TRY(opened.context->close());
  return run_outcome;
}

}  // namespace fb
