#include "cli/cli.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fb {
namespace {

ParsedCommandLine parse(std::vector<std::string> args) {
  args.insert(args.begin(), "fabricbench");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

const P2pPlan& p2p(const ParsedCommandLine& parsed) { return std::get<P2pPlan>(*parsed.command); }

TEST(Cli, P2pDefaults) {
  auto parsed = parse({"p2p"});
  ASSERT_TRUE(parsed.command);
  const P2pPlan& plan = p2p(parsed);
  EXPECT_EQ(plan.common.transport, "ucx");
  EXPECT_EQ(plan.common.np, 2);
  EXPECT_EQ(plan.common.bind, BindPolicy::kCore);
  EXPECT_EQ(plan.common.sizes.front(), 8u);
  EXPECT_EQ(plan.common.sizes.back(), 1u << 20);
  EXPECT_EQ(plan.tests.size(), 2u);
  EXPECT_EQ(plan.op, P2pOp::kSend);
  EXPECT_FALSE(plan.common.iterations);
}

TEST(Cli, NcclTestsStyleRange) {
  auto parsed = parse({"p2p", "-b", "8", "-e", "1M", "-f", "4", "--test", "bw,bibw", "--op", "put", "-n", "50"});
  ASSERT_TRUE(parsed.command);
  const P2pPlan& plan = p2p(parsed);
  EXPECT_EQ(plan.common.sizes, (std::vector<uint64_t>{8, 32, 128, 512, 2048, 8192, 32768, 131072, 524288}));
  EXPECT_EQ(plan.tests, (std::vector<P2pTest>{P2pTest::kBw, P2pTest::kBibw}));
  EXPECT_EQ(plan.op, P2pOp::kPut);
  EXPECT_EQ(*plan.common.iterations, 50u);
}

TEST(Cli, SizesSpecTransportOptionsAndBootstrap) {
  auto parsed = parse({"p2p", "--sizes", "8:4K:x2", "--transport", "loopback", "--transport-opt", "a=b",
                       "--progress", "event", "--bootstrap", "tcp://h:1", "--rank", "1", "--size", "2",
                       "--token", "t", "--json", "out.json", "--quiet"});
  ASSERT_TRUE(parsed.command);
  const P2pPlan& plan = p2p(parsed);
  EXPECT_EQ(plan.common.sizes.size(), 10u);
  EXPECT_EQ(plan.common.transport, "loopback");
  EXPECT_EQ(plan.common.transport_options.settings.at("a"), "b");
  EXPECT_EQ(plan.common.transport_options.progress, ProgressMode::kEvent);
  EXPECT_EQ(*plan.common.bootstrap.bootstrap, "tcp://h:1");
  EXPECT_EQ(*plan.common.bootstrap.rank, 1);
  EXPECT_EQ(*plan.common.json_path, "out.json");
  EXPECT_TRUE(plan.common.quiet);
}

TEST(Cli, UsageErrorsExitWithTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {"p2p", "--transport", "nosuch"},   {"p2p", "--np", "3"},        {"p2p", "--np", "0"},
      {"p2p", "--sizes", "1M:8"},         {"p2p", "--sizes", "8", "-b", "8"},
      {"p2p", "--test", "fast"},          {"p2p", "--op", "atomic"},   {"p2p", "--bind", "socket"},
      {"p2p", "--iters", "0"},            {"p2p", "--duration", "1", "--iters", "5"},
      {"p2p", "--window", "0"},           {"p2p", "--memory", "gpu"},  {"p2p", "--progress", "busy"},
      {"p2p", "--transport-opt", "novalue"}, {"p2p", "--bogus"},       {},
  };
  for (const auto& args : bad) {
    auto parsed = parse(args);
    EXPECT_FALSE(parsed.command) << testing::PrintToString(args);
    EXPECT_EQ(parsed.exit_code, 2) << testing::PrintToString(args);
  }
}

TEST(Cli, HelpAndVersionExitZero) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"}, {"p2p", "--help"}, {"--version"}}) {
    auto parsed = parse(args);
    EXPECT_FALSE(parsed.command);
    EXPECT_EQ(parsed.exit_code, 0);
  }
}

TEST(Cli, List) {
  auto parsed = parse({"list", "--json"});
  ASSERT_TRUE(parsed.command);
  EXPECT_TRUE(std::get<ListCommand>(*parsed.command).json);
}

}  // namespace
}  // namespace fb
