// The command line of the fabric sweeps (pairs, incast) and of soak intervals: raw flags as
// typed, then validated into the plan with errors in the project's own words.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "plan.h"

namespace fb {

struct SoakFlags {
  double interval_s = 1.0;
  double low_fraction = 0.8;
};

struct FabricFlags {
  std::optional<std::string> labels;
  std::optional<std::string> expect_gbits;  // a number, or "nic"
  double efficiency = 0.9;
  std::optional<std::string> topology;
};

struct PairsFlags {
  std::string test = "bw";
  std::string op = "send";
  int window = 64;
  std::optional<int> sample;
  uint64_t seed = 1;
  std::optional<std::string> pairs;
  bool no_retest = false;
};

struct IncastFlags {
  int fan_in = 0;
  std::string receiver;
  bool congestion = false;
  int window = 64;
};

void add_soak_options(CLI::App& app, SoakFlags& f);
void add_fabric_options(CLI::App& app, FabricFlags& f);
void add_pairs_options(CLI::App& app, PairsFlags& f);
void add_incast_options(CLI::App& app, IncastFlags& f);

// The default message size of a sweep's test, when --sizes is not given.
const char* pairs_default_sizes(const std::string& test);

Expected<SoakPlan> build_soak_plan(const SoakFlags& f);
Expected<PairsPlan> build_pairs_plan(CommonPlan common, const PairsFlags& pairs, const FabricFlags& fabric,
                                     const SoakFlags& soak);
Expected<IncastPlan> build_incast_plan(CommonPlan common, const IncastFlags& incast, const FabricFlags& fabric);

extern const char* const kPairsExamples;
extern const char* const kIncastExamples;

}  // namespace fb
