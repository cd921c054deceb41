#include "cli/cli.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "fabricbench/transport/registry.h"

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

TEST(Cli, VerbsFlagsBecomeTransportSettings) {
  if (!TransportRegistry::instance().find("verbs")) GTEST_SKIP() << "the verbs transport is not built in";
  auto parsed = parse({"p2p", "--transport", "verbs", "--ib-dev", "mlx5_0,mlx5_1", "--ib-port", "2", "--gid-index",
                       "3", "--ip", "10.0.0.1", "--mtu", "4096", "--tx-depth", "256", "--inline", "64", "--tclass",
                       "106", "--sl", "3", "--qps", "4", "--cq-mod", "8", "--rdma-cm"});
  ASSERT_TRUE(parsed.command) << parsed.exit_code;
  const auto& settings = p2p(parsed).common.transport_options.settings;
  const std::map<std::string, std::string> expected{
      {"ib_dev", "mlx5_0,mlx5_1"}, {"ib_port", "2"}, {"gid_index", "3"}, {"ip", "10.0.0.1"}, {"mtu", "4096"},
      {"sq_depth", "256"},         {"inline", "64"}, {"tclass", "106"},  {"sl", "3"},
      {"qps", "4"},                {"cq_mod", "8"},  {"rdma_cm", "1"}};
  EXPECT_EQ(settings, expected);
}

// Device memory pays a fixed cost per chunk, so its default chunk is larger; --chunk wins.
TEST(Cli, ChunkDefaultFollowsTheMemoryKind) {
  auto chunk_of = [](std::vector<std::string> args) -> size_t {
    auto parsed = parse(std::move(args));
    EXPECT_TRUE(parsed.command);
    return parsed.command ? std::get<CollectivePlan>(*parsed.command).chunk_bytes : 0;
  };
  EXPECT_EQ(chunk_of({"allreduce"}), 256u << 10);
  EXPECT_EQ(chunk_of({"allreduce", "--memory", "cuda-pinned"}), 256u << 10);
  EXPECT_EQ(chunk_of({"allgather", "--memory", "cuda"}), 16u << 20);
  EXPECT_EQ(chunk_of({"allreduce", "--memory", "cuda", "--chunk", "4M"}), 4u << 20);
  EXPECT_EQ(chunk_of({"allreduce", "--chunk", "1M"}), 1u << 20);
}

TEST(Cli, VerbsFlagsOnCollectives) {
  if (!TransportRegistry::instance().find("verbs")) GTEST_SKIP() << "the verbs transport is not built in";
  auto parsed = parse({"allreduce", "--transport", "verbs", "--tx-depth", "64", "--transport-opt", "retry_cnt=7"});
  ASSERT_TRUE(parsed.command);
  const auto& settings = std::get<CollectivePlan>(*parsed.command).common.transport_options.settings;
  EXPECT_EQ(settings.at("sq_depth"), "64");
  EXPECT_EQ(settings.at("retry_cnt"), "7");
}

TEST(Cli, VerbsFlagsNeedVerbsTransport) {
  for (const char* flag : {"--ib-dev", "--ib-port", "--gid-index", "--ip", "--mtu", "--tx-depth", "--inline",
                           "--tclass", "--sl", "--qps", "--cq-mod"}) {
    const std::string value = std::string(flag) == "--ib-dev" ? "mlx5_0" : std::string(flag) == "--ip" ? "10.0.0.1" : "1";
    testing::internal::CaptureStderr();
    auto parsed = parse({"p2p", "--transport", "loopback", flag, value});
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_FALSE(parsed.command) << flag;
    EXPECT_EQ(parsed.exit_code, 2) << flag;
    EXPECT_NE(err.find(std::string(flag) + " applies only to --transport verbs"), std::string::npos) << err;
  }
}

TEST(Cli, VerbsFlagContradictingTransportOpt) {
  if (!TransportRegistry::instance().find("verbs")) GTEST_SKIP() << "the verbs transport is not built in";
  testing::internal::CaptureStderr();
  auto parsed = parse({"p2p", "--transport", "verbs", "--gid-index", "3", "--transport-opt", "gid_index=1"});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_FALSE(parsed.command);
  EXPECT_NE(err.find("--gid-index 3 contradicts --transport-opt gid_index=1"), std::string::npos) << err;
  // The same value given twice is not a contradiction.
  EXPECT_TRUE(parse({"p2p", "--transport", "verbs", "--gid-index", "3", "--transport-opt", "gid_index=3"}).command);
}

TEST(Cli, RdmaCmFlag) {
  testing::internal::CaptureStderr();
  auto parsed = parse({"p2p", "--transport", "loopback", "--rdma-cm"});
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_FALSE(parsed.command);
  EXPECT_EQ(parsed.exit_code, 2);
  EXPECT_NE(err.find("--rdma-cm applies only to --transport verbs"), std::string::npos) << err;
  if (!TransportRegistry::instance().find("verbs")) GTEST_SKIP() << "the verbs transport is not built in";
  parsed = parse({"allreduce", "--transport", "verbs", "--rdma-cm"});
  ASSERT_TRUE(parsed.command);
  EXPECT_EQ(std::get<CollectivePlan>(*parsed.command).common.transport_options.settings.at("rdma_cm"), "1");
  // Without the flag nothing is set: the transport's default (bootstrap exchange) applies.
  parsed = parse({"p2p", "--transport", "verbs"});
  ASSERT_TRUE(parsed.command);
  EXPECT_EQ(p2p(parsed).common.transport_options.settings.count("rdma_cm"), 0u);
  testing::internal::CaptureStderr();
  parsed = parse({"p2p", "--transport", "verbs", "--rdma-cm", "--transport-opt", "rdma_cm=0"});
  err = testing::internal::GetCapturedStderr();
  EXPECT_FALSE(parsed.command);
  EXPECT_NE(err.find("--rdma-cm 1 contradicts --transport-opt rdma_cm=0"), std::string::npos) << err;
}

TEST(Cli, Info) {
  auto parsed = parse({"info"});
  ASSERT_TRUE(parsed.command);
  EXPECT_FALSE(std::get<InfoCommand>(*parsed.command).json);
  parsed = parse({"info", "--json"});
  ASSERT_TRUE(parsed.command);
  EXPECT_TRUE(std::get<InfoCommand>(*parsed.command).json);
}

}  // namespace
}  // namespace fb
