#include "cli/fabric_cli.h"

#include <cmath>
#include <cstdlib>

namespace fb {
namespace {

Status usage(std::string message) { return Status::error(StatusCode::kInvalidArgument, std::move(message), FB_HERE); }

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  for (auto& item : CLI::detail::split(text, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Expected<FabricPlan> build_fabric_plan(const FabricFlags& f) {
  FabricPlan plan;
  if (f.labels) {
    plan.labels = split_list(*f.labels);
    if (plan.labels.empty()) return usage("--label needs a host name, or a comma list of them (one per local rank)");
    for (const auto& label : plan.labels)
      if (label.find_first_of(" \t\n") != std::string::npos)
        return usage("--label '" + label + "': host names cannot contain spaces");
  }
  if (f.expect_gbits && *f.expect_gbits == "nic") {
    plan.expect_from_nic = true;
  } else if (f.expect_gbits) {
    char* end = nullptr;
    const double rate = std::strtod(f.expect_gbits->c_str(), &end);
    if (end == f.expect_gbits->c_str() || *end != '\0' || !(rate > 0 && std::isfinite(rate)))
      return usage("--expect-gbps is the link rate in Gbit/s and must be positive (e.g. 400), or 'nic' for the "
                   "speed the hosts' NICs report (got '" + *f.expect_gbits + "')");
    plan.expect_gbits = rate;
  }
  if (!(f.efficiency > 0 && f.efficiency <= 1))
    return usage("--efficiency is the share of the link rate a healthy pair reaches: between 0 and 1 (e.g. 0.9)");
  plan.efficiency = f.efficiency;
  plan.topology_path = f.topology;
  return plan;
}

Expected<std::vector<std::pair<std::string, std::string>>> parse_pair_list(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& item : split_list(text)) {
    const size_t colon = item.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size())
      return usage("--pairs takes host pairs as A:B, comma separated (got '" + item + "')");
    pairs.emplace_back(item.substr(0, colon), item.substr(colon + 1));
  }
  if (pairs.empty()) return usage("--pairs needs at least one A:B host pair");
  return pairs;
}

}  // namespace

const char* const kPairsExamples = R"(Examples:
  mpirun -np 16 --map-by ppr:1:node fabricbench pairs --expect-gbps 400
  srun -N 32 --ntasks-per-node 1 fabricbench pairs --test bibw --topology racks.topo
  fabricbench pairs --np 4 --label h0,h1,h2,h3          # 4 local ranks as 4 "hosts"
  fabricbench pairs --pairs node01:node07,node02:node07 --duration 60   # soak two links
  fabricbench pairs --pairs-sample 500                   # 500 host pairs of a huge fabric)";

const char* const kIncastExamples = R"(Examples:
  mpirun -np 9 --map-by ppr:1:node fabricbench incast                 # 8 senders into the first host
  mpirun -np 9 --map-by ppr:1:node fabricbench incast --fan-in 4 --receiver node05
  mpirun -np 10 --map-by ppr:1:node fabricbench incast --congestion   # victim pair alone and under incast)";

void add_soak_options(CLI::App& app, SoakFlags& f) {
  constexpr const char* kSoak = "Soak (with --duration)";
  app.add_option("--interval", f.interval_s, "Seconds per soak interval summary")->capture_default_str()->group(kSoak);
  app.add_option("--low-fraction", f.low_fraction,
                 "An interval is low below this fraction of the median interval's bandwidth")
      ->capture_default_str()
      ->group(kSoak);
}

void add_fabric_options(CLI::App& app, FabricFlags& f) {
  constexpr const char* kFabric = "Fabric";
  app.add_option("--label", f.labels,
                 "This rank's host name in results (default: hostname); a comma list maps to local ranks")
      ->group(kFabric);
  app.add_option("--expect-gbps", f.expect_gbits,
                 "Link rate in Gbit/s, or 'nic' (the median NIC speed the hosts report): pairs below it x --efficiency are slow")
      ->group(kFabric);
  app.add_option("--efficiency", f.efficiency, "Share of --expect-gbps a healthy pair reaches")
      ->capture_default_str()
      ->group(kFabric);
  app.add_option("--topology", f.topology, "Topology file (host -> leaf -> spine) to blame shared uplinks")
      ->group(kFabric);
}

void add_pairs_options(CLI::App& app, PairsFlags& f) {
  app.add_option("--test", f.test, "bw, bibw or latency")->capture_default_str();
  app.add_option("--op", f.op, "send, put or get")->capture_default_str();
  app.add_option("--window", f.window, "Messages outstanding in bw and bibw")->capture_default_str();
  app.add_option("--pairs-sample", f.sample, "Measure only this many host pairs, spread evenly over hosts");
  app.add_option("--pairs-seed", f.seed, "Seed of --pairs-sample")->capture_default_str();
  app.add_option("--pairs", f.pairs, "Measure only these host pairs: A:B,C:D,...");
  app.add_flag("--no-retest", f.no_retest, "Report suspects without measuring their pairs a second time");
}

void add_incast_options(CLI::App& app, IncastFlags& f) {
  app.add_option("--fan-in", f.fan_in, "Senders (default: every host but the receiver)");
  app.add_option("--receiver", f.receiver, "Receiving host's name (default: the first host)");
  app.add_flag("--congestion", f.congestion,
               "Also measure a victim pair alone and under the incast load (congestion impact factor)");
  app.add_option("--window", f.window, "Messages outstanding per sender")->capture_default_str();
}

const char* pairs_default_sizes(const std::string& test) { return test == "latency" || test == "lat" ? "8" : "1M"; }

Expected<SoakPlan> build_soak_plan(const SoakFlags& f) {
  if (!(f.interval_s > 0 && std::isfinite(f.interval_s))) return usage("--interval must be a positive number of seconds");
  if (!(f.low_fraction > 0 && f.low_fraction < 1))
    return usage("--low-fraction must be between 0 and 1 (e.g. 0.8: intervals below 80 % of the median are low)");
  return SoakPlan{f.interval_s, f.low_fraction};
}

Expected<PairsPlan> build_pairs_plan(CommonPlan common, const PairsFlags& f, const FabricFlags& fabric,
                                     const SoakFlags& soak) {
  PairsPlan plan;
  plan.p2p.common = std::move(common);
  if (f.test == "bw") {
    plan.p2p.tests = {P2pTest::kBw};
  } else if (f.test == "bibw") {
    plan.p2p.tests = {P2pTest::kBibw};
  } else if (f.test == "latency" || f.test == "lat") {
    plan.p2p.tests = {P2pTest::kLatency};
  } else {
    return usage("pairs --test takes bw, bibw or latency (got '" + f.test + "')");
  }
  if (f.op == "send") {
    plan.p2p.op = P2pOp::kSend;
  } else if (f.op == "put") {
    plan.p2p.op = P2pOp::kPut;
  } else if (f.op == "get") {
    plan.p2p.op = P2pOp::kGet;
  } else {
    return usage("--op takes send, put or get (got '" + f.op + "')");
  }
  if (f.window < 1 || f.window > 65536) return usage("--window must be between 1 and 65536");
  plan.p2p.window = f.window;
  FB_TRY_ASSIGN(plan.p2p.soak, build_soak_plan(soak));
  FB_TRY_ASSIGN(plan.fabric, build_fabric_plan(fabric));
  if (f.sample && f.pairs) return usage("give either --pairs-sample or --pairs, not both");
  if (f.sample && *f.sample < 1) return usage("--pairs-sample must be at least 1");
  plan.sample_pairs = f.sample;
  plan.sample_seed = f.seed;
  if (f.pairs) {
    FB_TRY_ASSIGN(plan.pair_list, parse_pair_list(*f.pairs));
  }
  plan.retest = !f.no_retest;
  return plan;
}

Expected<IncastPlan> build_incast_plan(CommonPlan common, const IncastFlags& f, const FabricFlags& fabric) {
  IncastPlan plan;
  plan.p2p.common = std::move(common);
  plan.p2p.tests = {P2pTest::kBw};
  plan.p2p.op = P2pOp::kSend;
  if (f.window < 1 || f.window > 65536) return usage("--window must be between 1 and 65536");
  plan.p2p.window = f.window;
  if (f.fan_in < 0) return usage("--fan-in must be at least 1 (or left out: every host but the receiver)");
  plan.fan_in = f.fan_in;
  plan.receiver = f.receiver;
  plan.congestion = f.congestion;
  FB_TRY_ASSIGN(plan.fabric, build_fabric_plan(fabric));
  if (plan.p2p.common.duration_s > 0) return usage("incast runs --iters bursts; --duration is not supported here");
  return plan;
}

}  // namespace fb
