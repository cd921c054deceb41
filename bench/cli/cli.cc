#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <type_traits>

#include "cli/fabric_cli.h"
#include "cli/sizes.h"
#include "fabricbench/collectives/algorithm.h"
#include "fabricbench/transport/registry.h"
#include "results/version.h"

namespace fb {
namespace {

constexpr int kUsageError = 2;

// Raw option values as typed; validated into the plan after parsing so errors can say
// exactly what was wrong in the project's own words.
struct CommonFlags {
  std::string transport = "ucx";
  int np = 2;
  std::string bind = "core";
  std::optional<std::string> sizes;
  std::optional<std::string> min_bytes, max_bytes;
  std::optional<uint64_t> step_factor;
  std::optional<std::string> step_bytes;
  std::optional<uint64_t> iterations;
  std::optional<uint64_t> warmup;
  double duration_s = 0;
  std::optional<std::string> json_path;
  bool quiet = false;
  std::string memory = "host";
  std::optional<int> device;
  bool hugepages = false;
  std::string progress = "auto";
  double timeout_s = 60;
  std::vector<std::string> transport_settings;
  BootstrapFlags bootstrap;
  // The verbs transport's most used settings as flags; each is the --transport-opt KEY named.
  std::optional<std::string> ib_dev, ip;
  std::optional<int> ib_port, gid_index, mtu, tx_depth, inline_bytes, tclass, sl, qps, cq_mod;
  bool rdma_cm = false;
};

struct VerbsFlag {
  const char* flag;
  const char* key;  // the verbs transport's setting
  std::string value;
};

// The verbs flags the user gave, in the order they are listed in --help.
std::vector<VerbsFlag> given_verbs_flags(const CommonFlags& f) {
  std::vector<VerbsFlag> out;
  auto add = [&](const char* flag, const char* key, const auto& value) {
    if (!value) return;
    if constexpr (std::is_same_v<std::decay_t<decltype(*value)>, std::string>) {
      out.push_back({flag, key, *value});
    } else {
      out.push_back({flag, key, std::to_string(*value)});
    }
  };
  add("--ib-dev", "ib_dev", f.ib_dev);
  add("--ib-port", "ib_port", f.ib_port);
  add("--gid-index", "gid_index", f.gid_index);
  add("--ip", "ip", f.ip);
  add("--mtu", "mtu", f.mtu);
  add("--tx-depth", "sq_depth", f.tx_depth);
  add("--inline", "inline", f.inline_bytes);
  add("--tclass", "tclass", f.tclass);
  add("--sl", "sl", f.sl);
  add("--qps", "qps", f.qps);
  add("--cq-mod", "cq_mod", f.cq_mod);
  if (f.rdma_cm) out.push_back({"--rdma-cm", "rdma_cm", "1"});
  return out;
}

// Each chunk of a device-memory collective pays a fixed cost (a copy, an event, a kernel launch
// and its wait: about 10 us on an H100), so device chunks are larger: with 2 ranks under MPS a
// 256 MiB all-reduce ran at 170 GB/s busbw with 4 MiB chunks and 244-256 GB/s with 16-64 MiB.
constexpr const char* kHostChunk = "256K";
constexpr const char* kDeviceChunk = "16M";

struct CollectiveFlags {
  std::string dtypes = "fp32";
  std::string ops = "sum";
  std::string algorithms = "auto";
  std::string check = "on";
  std::optional<std::string> chunk;  // default: kHostChunk, or kDeviceChunk for --memory cuda
  std::optional<std::string> corruption;
};

struct P2pFlags {
  std::string tests = "latency,bw";
  std::string op = "send";
  int window = 64;
  bool imm = false;
};

void add_common_options(CLI::App& app, CommonFlags& f, const char* default_sizes) {
  app.add_option("--transport,-t", f.transport, "Transport (see 'fabricbench list')")->capture_default_str();
  app.add_option("--np", f.np, "Local ranks to start with the local bootstrap")->capture_default_str();
  app.add_option("--bind", f.bind, "Pin local ranks: core|numa|none")->capture_default_str();
  app.add_option("--sizes", f.sizes,
                 std::string("Message sizes: BEGIN:END:xFACTOR, BEGIN:END:+STEP or a list (K/M/G = 1024^n); default ") +
                     default_sizes);
  app.add_option("-b,--minbytes", f.min_bytes, "First size of a range (like nccl-tests)");
  app.add_option("-e,--maxbytes", f.max_bytes, "Last size of a range");
  app.add_option("-f,--stepfactor", f.step_factor, "Multiply the size by this each step");
  app.add_option("-i,--stepbytes", f.step_bytes, "Add this to the size each step");
  app.add_option("-n,--iters", f.iterations, "Timed iterations per size (default depends on the test)");
  app.add_option("-w,--warmup", f.warmup, "Untimed warm-up iterations per size");
  app.add_option("--duration", f.duration_s, "Seconds per size: time-bounded instead of --iters");
  app.add_option("--json", f.json_path, "Result file (default ./fabricbench-<benchmark>-<UTC time>.json)");
  app.add_flag("--quiet,-q", f.quiet, "No table and no progress; errors only");
  app.add_option("--memory", f.memory, "Buffer memory kind: host|cuda|cuda-pinned")->capture_default_str();
  app.add_option("--device", f.device, "GPU for --memory cuda/cuda-pinned (default: local rank modulo the GPU count)");
  app.add_flag("--hugepages", f.hugepages, "Back host buffers with huge pages");
  app.add_option("--progress", f.progress, "poll (spin, lowest latency), yield (poll, giving the core away between passes), event (sleep on the transport), or auto (yield when this host's ranks outnumber its cores, else poll)")
      ->capture_default_str();
  app.add_option("--timeout", f.timeout_s, "Seconds before a silent peer is declared dead")->capture_default_str();
  app.add_option("--transport-opt", f.transport_settings, "Transport setting KEY=VALUE (repeatable)");
  constexpr const char* kVerbs = "Verbs (with --transport verbs)";
  app.add_option("--ib-dev", f.ib_dev, "RDMA device, or a comma list mapped to local ranks (one NIC per rank)")
      ->group(kVerbs);
  app.add_option("--ib-port", f.ib_port, "Port of the RDMA device (default: its first active port)")->group(kVerbs);
  app.add_option("--gid-index", f.gid_index,
                 "GID table index to use (default: the RoCEv2 GID of the address that reaches the peer)")
      ->group(kVerbs);
  app.add_option("--ip", f.ip, "Pick the RoCEv2 GID carrying this IPv4 address")->group(kVerbs);
  app.add_option("--mtu", f.mtu, "Path MTU: 256, 512, 1024, 2048 or 4096 (default: the port's active MTU)")
      ->group(kVerbs);
  app.add_option("--tx-depth", f.tx_depth, "Send queue depth per QP (default 128)")->group(kVerbs);
  app.add_option("--inline", f.inline_bytes, "Largest message sent inline with the work request, in bytes (default 0: off)")
      ->group(kVerbs);
  app.add_option("--tclass", f.tclass, "Traffic class byte: DSCP << 2 | ECN (RoCEv2)")->group(kVerbs);
  app.add_option("--sl", f.sl, "Service level (InfiniBand; RoCE maps it to a priority)")->group(kVerbs);
  app.add_option("--qps", f.qps,
                 "RC queue pairs per peer (default 1); put/get go round-robin over them, send/recv stay on "
                 "the first (message order)")
      ->group(kVerbs);
  app.add_option("--cq-mod", f.cq_mod,
                 "Request a completion for every Nth send work request only (default 1: every one; at most "
                 "--tx-depth)")
      ->group(kVerbs);
  app.add_flag("--rdma-cm", f.rdma_cm,
               "Connect the QPs with librdmacm (each rank listens on its GID's IPv4 address) instead of "
               "exchanging QP numbers through the bootstrap; one QP per peer")
      ->group(kVerbs);
  app.add_option("--bootstrap", f.bootstrap.bootstrap, "local (default), tcp://HOST:PORT, or mpi (auto-selected under mpirun/srun; env FABRICBENCH_BOOTSTRAP)");
  app.add_option("--rank", f.bootstrap.rank, "This process's rank with --bootstrap tcp (env FABRICBENCH_RANK)");
  app.add_option("--size", f.bootstrap.size, "Number of ranks with --bootstrap tcp (env FABRICBENCH_SIZE)");
  app.add_option("--token", f.bootstrap.token, "Shared job token for --bootstrap tcp (env FABRICBENCH_TOKEN)");
}

Status usage(std::string message) { return Status::error(StatusCode::kInvalidArgument, std::move(message), FB_HERE); }

Expected<std::vector<uint64_t>> resolve_sizes(const CommonFlags& f, const char* default_sizes) {
  const bool range_flags = f.min_bytes || f.max_bytes || f.step_factor || f.step_bytes;
  if (f.sizes && range_flags) return usage("give either --sizes or -b/-e/-f/-i, not both");
  if (f.sizes) return parse_size_spec(*f.sizes);
  if (!range_flags) return parse_size_spec(default_sizes);
  if (f.step_factor && f.step_bytes) return usage("give either -f (factor) or -i (step), not both");
  SizeRange range;
  FB_TRY_ASSIGN(range.begin, parse_size(f.min_bytes.value_or("8")));
  if (f.max_bytes) {
    FB_TRY_ASSIGN(range.end, parse_size(*f.max_bytes));
  } else {
    range.end = range.begin;
  }
  if (f.step_factor) range.factor = *f.step_factor;
  if (f.step_bytes) {
    FB_TRY_ASSIGN(range.step, parse_size(*f.step_bytes));
    if (range.step == 0) return usage("-i/--stepbytes must be positive");
  }
  return expand_sizes(range);
}

Expected<BindPolicy> parse_bind(const std::string& text) {
  if (text == "core") return BindPolicy::kCore;
  if (text == "numa") return BindPolicy::kNuma;
  if (text == "none") return BindPolicy::kNone;
  return usage("--bind must be core, numa or none (got '" + text + "')");
}

Expected<std::pair<std::string, std::string>> parse_setting(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    return usage("--transport-opt takes KEY=VALUE (got '" + text + "')");
  return std::pair{text.substr(0, eq), text.substr(eq + 1)};
}

Expected<CommonPlan> build_common_plan(const CommonFlags& f, const char* default_sizes, int argc,
                                       const char* const* argv) {
  CommonPlan plan;
  if (!TransportRegistry::instance().find(f.transport)) {
    std::string known;
    for (const auto* t : TransportRegistry::instance().all()) known += (known.empty() ? "" : ", ") + t->name;
    std::string message = "unknown transport '" + f.transport + "' (built in: " + known + ")";
    for (const auto& [name, reason] : TransportRegistry::not_built())
      if (name == f.transport) message = "transport '" + name + "' is not built in: " + reason;
    return usage(message + "; see 'fabricbench list'");
  }
  plan.transport = f.transport;
  if (f.np < 1 || f.np > 4096) return usage("--np must be between 1 and 4096 (got " + std::to_string(f.np) + ")");
  plan.np = f.np;
  FB_TRY_ASSIGN(plan.bind, parse_bind(f.bind));
  FB_TRY_ASSIGN(plan.sizes, resolve_sizes(f, default_sizes));
  if (f.iterations && *f.iterations == 0) return usage("--iters must be at least 1");
  plan.iterations = f.iterations;
  plan.warmup_override = f.warmup;
  if (f.duration_s < 0) return usage("--duration must be positive seconds");
  if (f.duration_s > 0 && f.iterations) return usage("give either --iters or --duration, not both");
  plan.duration_s = f.duration_s;
  plan.json_path = f.json_path;
  if (plan.json_path && plan.json_path->empty()) return usage("--json needs a file path");
  plan.quiet = f.quiet;
  FB_TRY_ASSIGN(plan.memory, parse_memory_kind(f.memory));
  plan.hugepages = f.hugepages;
  if (f.device) {
    if (*f.device < 0) return usage("--device must be a GPU index, 0 or more");
    if (plan.memory == MemoryKind::kHost) return usage("--device applies to --memory cuda or cuda-pinned");
    plan.device = f.device;
    plan.transport_options.device = *f.device;
  }
  plan.progress_auto = f.progress == "auto";
  if (f.progress == "poll" || f.progress == "auto") {
    plan.transport_options.progress = ProgressMode::kPoll;
  } else if (f.progress == "event") {
    plan.transport_options.progress = ProgressMode::kEvent;
  } else if (f.progress == "yield") {
    plan.transport_options.progress = ProgressMode::kYield;
  } else {
    return usage("--progress must be poll, event, yield or auto (got '" + f.progress + "')");
  }
  if (f.timeout_s <= 0) return usage("--timeout must be positive seconds");
  plan.transport_options.timeout = std::chrono::milliseconds(static_cast<int64_t>(f.timeout_s * 1000));
  for (const auto& text : f.transport_settings) {
    FB_TRY_ASSIGN(auto setting, parse_setting(text));
    plan.transport_options.settings[setting.first] = setting.second;
  }
  for (const VerbsFlag& flag : given_verbs_flags(f)) {
    if (f.transport != "verbs")
      return usage(std::string(flag.flag) + " applies only to --transport verbs (this run uses '" + f.transport + "')");
    auto [it, inserted] = plan.transport_options.settings.emplace(flag.key, flag.value);
    if (!inserted && it->second != flag.value)
      return usage(std::string(flag.flag) + " " + flag.value + " contradicts --transport-opt " + flag.key + "=" +
                   it->second);
  }
  plan.bootstrap = f.bootstrap;
  plan.command_line.assign(argv, argv + argc);
  return plan;
}

Expected<std::vector<P2pTest>> parse_p2p_tests(const std::string& text) {
  std::vector<P2pTest> tests;
  for (const auto& name : CLI::detail::split(text, ',')) {
    if (name == "latency" || name == "lat") {
      tests.push_back(P2pTest::kLatency);
    } else if (name == "bw") {
      tests.push_back(P2pTest::kBw);
    } else if (name == "bibw") {
      tests.push_back(P2pTest::kBibw);
    } else if (name == "msgrate") {
      tests.push_back(P2pTest::kMsgrate);
    } else {
      return usage("--test takes latency, bw, bibw or msgrate, or a comma list (got '" + name + "')");
    }
  }
  if (tests.empty()) return usage("--test needs at least one test");
  return tests;
}

Expected<P2pOp> parse_p2p_op(const std::string& text) {
  if (text == "send") return P2pOp::kSend;
  if (text == "put" || text == "write") return P2pOp::kPut;
  if (text == "get" || text == "read") return P2pOp::kGet;
  return usage("--op must be send, put or get (got '" + text + "')");
}

constexpr const char* kP2pDefaultSizes = "8:1M:x2";

constexpr const char* kP2pExamples = R"(Examples:
  fabricbench p2p                                   # latency + bandwidth, 2 local ranks over UCX
  fabricbench p2p --test latency --sizes 8:4K:x2 --json out.json
  fabricbench p2p --test bw --op put -b 4K -e 4M -f 4 --window 128
  UCX_TLS=tcp fabricbench p2p --test bibw --duration 2
  fabricbench p2p --bootstrap tcp://node01:29500 --rank 1 --size 2 --token job42)";

constexpr const char* kCollectiveDefaultSizes = "8:16M:x4";

struct CollectiveCommandInfo {
  CollectiveKind kind;
  const char* name;
  const char* description;
  const char* examples;
};

constexpr CollectiveCommandInfo kCollectiveCommands[] = {
    {CollectiveKind::kAllReduce, "allreduce", "All-reduce: every rank ends with the reduction of all inputs",
     R"(Examples:
  fabricbench allreduce --np 4                          # ring/recursive doubling chosen per size
  fabricbench allreduce --np 4 --algo ring,rabenseifner --dtype fp32,bf16 --op sum,max
  fabricbench allreduce --np 8 --progress event -b 8 -e 64M -f 2 --check off
  mpirun -np 4 fabricbench allreduce --algo all,mpi       # beside the MPI library's MPI_Allreduce
  srun -n 4 --mpi=pmix fabricbench allreduce --sizes 1M:256M:x4)"},
    {CollectiveKind::kAllGather, "allgather", "All-gather: every rank ends with every rank's block (size = gathered buffer)",
     R"(Examples:
  fabricbench allgather --np 4
  fabricbench allgather --np 6 --algo all --sizes 1K:16M:x4
  mpirun -np 4 fabricbench allgather --algo auto,mpi)"},
    {CollectiveKind::kReduceScatter, "reducescatter", "Reduce-scatter: rank r ends with block r of the reduction (size = input)",
     R"(Examples:
  fabricbench reducescatter --np 4 --dtype fp16 --op sum)"},
    {CollectiveKind::kAllToAll, "alltoall", "All-to-all: block j of rank r goes to rank j (size = whole buffer)",
     R"(Examples:
  fabricbench alltoall --np 4 --sizes 4K:16M:x4)"},
};

template <typename T, typename Parse>
Expected<std::vector<T>> parse_list(const std::string& text, Parse parse) {
  std::vector<T> out;
  for (const auto& item : CLI::detail::split(text, ',')) {
    FB_TRY_ASSIGN(T value, parse(item));
    out.push_back(value);
  }
  if (out.empty()) return usage("empty list '" + text + "'");
  return out;
}

Expected<InjectedCorruption> parse_corruption(const std::string& text) {
  const auto colon = text.find(':');
  InjectedCorruption c;
  try {
    size_t used = 0;
    if (colon == std::string::npos) throw std::invalid_argument(text);
    c.rank = std::stoi(text.substr(0, colon), &used);
    if (used != colon || c.rank < 0) throw std::invalid_argument(text);
    c.index = std::stoull(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    return usage("--inject-corruption takes RANK:INDEX (got '" + text + "')");
  }
  return c;
}

Expected<CollectivePlan> build_collective_plan(CommonPlan common, CollectiveKind kind, const CollectiveFlags& f) {
  CollectivePlan plan;
  plan.common = std::move(common);
  plan.common.transport_options.one_sided = false;
  plan.kind = kind;
  FB_TRY_ASSIGN(plan.dtypes, parse_list<DataType>(f.dtypes, [](const std::string& s) { return parse_data_type(s); }));
  FB_TRY_ASSIGN(plan.ops, parse_list<ReduceOp>(f.ops, [](const std::string& s) { return parse_reduce_op(s); }));
  if (kind == CollectiveKind::kAllGather || kind == CollectiveKind::kAllToAll) plan.ops = {ReduceOp::kSum};
  plan.algorithms = CLI::detail::split(f.algorithms, ',');
  for (const auto& name : plan.algorithms) {
    if (name == "auto" || name == "all" || name == "mpi") continue;
    if (!AlgorithmRegistry::instance().find(kind, name)) {
      std::string known;
      for (const Algorithm* a : AlgorithmRegistry::instance().for_kind(kind))
        known += (known.empty() ? "" : ", ") + std::string(a->name);
      return usage("unknown " + std::string(to_string(kind)) + " algorithm '" + name +
                   "' (use auto, all, mpi or one of: " + known + ")");
    }
  }
  if (f.check != "on" && f.check != "off") return usage("--check must be on or off (got '" + f.check + "')");
  plan.check = f.check == "on";
  const bool device = plan.common.memory == MemoryKind::kCudaDevice;
  FB_TRY_ASSIGN(uint64_t chunk, parse_size(f.chunk.value_or(device ? kDeviceChunk : kHostChunk)));
  if (chunk < 64) return usage("--chunk must be at least 64 bytes");
  plan.chunk_bytes = chunk;
  if (f.corruption) {
    FB_TRY_ASSIGN(plan.corruption, parse_corruption(*f.corruption));
  }
  return plan;
}

constexpr const char* kListExamples = R"(Examples:
  fabricbench list
  fabricbench list --json)";

constexpr const char* kInfoExamples = R"(Examples:
  fabricbench info
  fabricbench info --json > $(hostname).json)";

std::string version_text() {
  return std::string("fabricbench ") + tool_version() + " (git " + git_sha() + ")";
}

}  // namespace

ParsedCommandLine parse_command_line(int argc, const char* const* argv) {
  CLI::App app{"fabricbench: interconnect and collective benchmarks for GPU clusters", "fabricbench"};
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  app.footer("Run 'fabricbench <command> --help' for a command's options and examples.");

  ListCommand list;
  CLI::App* list_cmd = app.add_subcommand("list", "Transports built in, and whether each is usable on this host");
  list_cmd->add_flag("--json", list.json, "Print as JSON");
  list_cmd->footer(kListExamples);

  InfoCommand info;
  CLI::App* info_cmd = app.add_subcommand(
      "info", "What this host has: CPU/NUMA, memory, NICs, RDMA devices and GID tables, GPUs, libraries");
  info_cmd->add_flag("--json", info.json, "Print one JSON object");
  info_cmd->footer(kInfoExamples);

  CommonFlags common;
  P2pFlags p2p;
  CLI::App* p2p_cmd = app.add_subcommand("p2p", "Point-to-point latency, bandwidth, bidirectional bandwidth, message rate");
  add_common_options(*p2p_cmd, common, kP2pDefaultSizes);
  p2p_cmd->add_option("--test", p2p.tests, "latency|bw|bibw|msgrate, or a comma list")->capture_default_str();
  p2p_cmd->add_option("--op", p2p.op, "send (tag send/recv), put (RDMA write) or get (RDMA read)")->capture_default_str();
  p2p_cmd->add_option("--window", p2p.window, "Messages outstanding in bw, bibw and msgrate")->capture_default_str();
  SoakFlags soak;
  add_soak_options(*p2p_cmd, soak);
  p2p_cmd->add_flag("--imm", p2p.imm,
                    "With --op put: RDMA WRITE with immediate; the target waits for the notification instead of "
                    "polling the last byte (transports with put_imm: verbs)");
  p2p_cmd->footer(kP2pExamples);

  FabricFlags fabric;
  PairsFlags pairs;
  CLI::App* pairs_cmd = app.add_subcommand(
      "pairs", "Every host pair in rounds of disjoint pairs; names the slow hosts and links");
  add_common_options(*pairs_cmd, common, "1M (latency: 8)");
  add_pairs_options(*pairs_cmd, pairs);
  add_fabric_options(*pairs_cmd, fabric);
  add_soak_options(*pairs_cmd, soak);
  pairs_cmd->footer(kPairsExamples);

  IncastFlags incast;
  CLI::App* incast_cmd = app.add_subcommand(
      "incast", "Many senders into one receiver: per-sender share, fairness, flow completion; --congestion");
  add_common_options(*incast_cmd, common, "1M");
  add_incast_options(*incast_cmd, incast);
  add_fabric_options(*incast_cmd, fabric);
  incast_cmd->footer(kIncastExamples);

  CollectiveFlags collective;
  std::vector<std::pair<CLI::App*, const CollectiveCommandInfo*>> collective_cmds;
  for (const auto& info : kCollectiveCommands) {
    CLI::App* cmd = app.add_subcommand(info.name, info.description);
    add_common_options(*cmd, common, kCollectiveDefaultSizes);
    cmd->add_option("--dtype", collective.dtypes, "fp32|fp64|fp16|bf16|int32, or a comma list")->capture_default_str();
    if (info.kind == CollectiveKind::kAllReduce || info.kind == CollectiveKind::kReduceScatter)
      cmd->add_option("--op", collective.ops, "sum|max|min, or a comma list")->capture_default_str();
    cmd->add_option("--algo", collective.algorithms,
                    "auto, all, mpi (the MPI library's own, under mpirun/srun) or algorithm names; comma list")
        ->capture_default_str();
    cmd->add_option("--check", collective.check, "on: count wrong elements and fail on any; off: pure speed")
        ->capture_default_str();
    cmd->add_option("--chunk", collective.chunk,
                    std::string("Pipeline chunk size for large messages (default ") + kHostChunk + "; " + kDeviceChunk +
                        " with --memory cuda)");
    cmd->add_option("--inject-corruption", collective.corruption,
                    "Test the checker: change input element INDEX of rank RANK (RANK:INDEX)")
        ->group("Testing");
    cmd->footer(info.examples);
    collective_cmds.emplace_back(cmd, &info);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    if (code != 0) std::fprintf(stderr, "Run 'fabricbench --help' for usage.\n");
    return {std::nullopt, code == 0 ? 0 : kUsageError};
  }

  auto fail = [](const Status& status) {
    std::fprintf(stderr, "fabricbench: error: %s\n", status.to_string().c_str());
    return ParsedCommandLine{std::nullopt, kUsageError};
  };

  if (list_cmd->parsed()) return {Command{list}, 0};
  if (info_cmd->parsed()) return {Command{info}, 0};

  for (const auto& [cmd, info] : collective_cmds) {
    if (!cmd->parsed()) continue;
    auto common_plan = build_common_plan(common, kCollectiveDefaultSizes, argc, argv);
    if (!common_plan.ok()) return fail(common_plan.status());
    auto collective_plan = build_collective_plan(std::move(common_plan.value()), info->kind, collective);
    if (!collective_plan.ok()) return fail(collective_plan.status());
    return {Command{std::move(collective_plan.value())}, 0};
  }

  if (pairs_cmd->parsed()) {
    auto common_plan = build_common_plan(common, pairs_default_sizes(pairs.test), argc, argv);
    if (!common_plan.ok()) return fail(common_plan.status());
    auto pairs_plan = build_pairs_plan(std::move(common_plan.value()), pairs, fabric, soak);
    if (!pairs_plan.ok()) return fail(pairs_plan.status());
    return {Command{std::move(pairs_plan.value())}, 0};
  }
  if (incast_cmd->parsed()) {
    auto common_plan = build_common_plan(common, "1M", argc, argv);
    if (!common_plan.ok()) return fail(common_plan.status());
    auto incast_plan = build_incast_plan(std::move(common_plan.value()), incast, fabric);
    if (!incast_plan.ok()) return fail(incast_plan.status());
    return {Command{std::move(incast_plan.value())}, 0};
  }

  auto plan = build_common_plan(common, kP2pDefaultSizes, argc, argv);
  if (!plan.ok()) return fail(plan.status());
  P2pPlan p2p_plan;
  p2p_plan.common = std::move(plan.value());
  auto tests = parse_p2p_tests(p2p.tests);
  if (!tests.ok()) return fail(tests.status());
  p2p_plan.tests = tests.value();
  auto op = parse_p2p_op(p2p.op);
  if (!op.ok()) return fail(op.status());
  p2p_plan.op = op.value();
  if (p2p.window < 1 || p2p.window > 65536) return fail(usage("--window must be between 1 and 65536"));
  p2p_plan.window = p2p.window;
  auto soak_plan = build_soak_plan(soak);
  if (!soak_plan.ok()) return fail(soak_plan.status());
  p2p_plan.soak = soak_plan.value();
  if (p2p.imm && p2p_plan.op != P2pOp::kPut)
    return fail(usage("--imm applies to --op put (a put that notifies its target); this run uses --op " + p2p.op));
  p2p_plan.imm = p2p.imm;
  if (p2p_plan.common.np % 2 != 0)
    return fail(usage("p2p runs ranks in pairs (0-1, 2-3, ...): --np must be even (got " +
                      std::to_string(p2p_plan.common.np) + ")"));
  return {Command{std::move(p2p_plan)}, 0};
}

const char* to_string(P2pTest test) {
  switch (test) {
    case P2pTest::kLatency: return "latency";
    case P2pTest::kBw: return "bw";
    case P2pTest::kBibw: return "bibw";
    case P2pTest::kMsgrate: return "msgrate";
  }
  return "?";
}

const char* to_string(P2pOp op) {
  switch (op) {
    case P2pOp::kSend: return "send";
    case P2pOp::kPut: return "put";
    case P2pOp::kGet: return "get";
  }
  return "?";
}

const char* to_string(BindPolicy bind) {
  switch (bind) {
    case BindPolicy::kCore: return "core";
    case BindPolicy::kNuma: return "numa";
    case BindPolicy::kNone: return "none";
  }
  return "?";
}

}  // namespace fb
