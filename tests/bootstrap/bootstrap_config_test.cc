#include "bootstrap/bootstrap_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace fb {
namespace {

using ::testing::HasSubstr;

class FakeEnv {
 public:
  FakeEnv(std::initializer_list<std::pair<const std::string, std::string>> vars) : vars_(vars) {}
  GetenvFn fn() const {
    return [this](const char* name) -> const char* {
      const auto it = vars_.find(name);
      return it == vars_.end() ? nullptr : it->second.c_str();
    };
  }

 private:
  std::map<std::string, std::string> vars_;
};

Expected<BootstrapConfig> resolve(const BootstrapFlags& flags, const FakeEnv& env = FakeEnv({})) {
  return resolve_bootstrap_config(flags, env.fn());
}

BootstrapFlags tcp_flags(std::string uri, int rank, int size) {
  BootstrapFlags f;
  f.bootstrap = std::move(uri);
  f.rank = rank;
  f.size = size;
  return f;
}

void expect_invalid(const Expected<BootstrapConfig>& got, const std::string& needle) {
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument) << got.status().message();
  EXPECT_THAT(got.status().message(), HasSubstr(needle));
}

TEST(BootstrapConfig, NothingGivenMeansLocal) {
  const auto got = resolve({});
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->kind, "local");
  EXPECT_EQ(got->timeout, kDefaultBootstrapTimeout);
}

TEST(BootstrapConfig, LocalByNameOrEmpty) {
  for (const char* uri : {"local", ""}) {
    BootstrapFlags f;
    f.bootstrap = uri;
    const auto got = resolve(f);
    ASSERT_TRUE(got.ok()) << uri;
    EXPECT_EQ(got->kind, "local");
  }
}

TEST(BootstrapConfig, LocalIgnoresRankAndSizeFromEnvironment) {
  const auto got = resolve({}, FakeEnv({{"FABRICBENCH_RANK", "3"}, {"FABRICBENCH_SIZE", "8"}}));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->kind, "local");
  EXPECT_EQ(got->rank, -1);
}

TEST(BootstrapConfig, LocalRejectsRankFlag) {
  BootstrapFlags f;
  f.rank = 1;
  expect_invalid(resolve(f), "only apply to --bootstrap tcp://HOST:PORT");
}

TEST(BootstrapConfig, TcpFromFlags) {
  BootstrapFlags f = tcp_flags("tcp://node1.example:29500", 2, 4);
  f.token = "secret";
  f.timeout = std::chrono::milliseconds(1500);
  const auto got = resolve(f);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->kind, "tcp");
  EXPECT_EQ(got->host, "node1.example");
  EXPECT_EQ(got->port, 29500);
  EXPECT_EQ(got->rank, 2);
  EXPECT_EQ(got->size, 4);
  EXPECT_EQ(got->token, "secret");
  EXPECT_EQ(got->timeout, std::chrono::milliseconds(1500));
}

TEST(BootstrapConfig, TcpFromEnvironment) {
  const FakeEnv env({{"FABRICBENCH_BOOTSTRAP", "tcp://10.0.0.1:4000"},
                     {"FABRICBENCH_RANK", "0"},
                     {"FABRICBENCH_SIZE", "2"},
                     {"FABRICBENCH_TOKEN", "job42"}});
  const auto got = resolve({}, env);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->host, "10.0.0.1");
  EXPECT_EQ(got->port, 4000);
  EXPECT_EQ(got->rank, 0);
  EXPECT_EQ(got->size, 2);
  EXPECT_EQ(got->token, "job42");
}

TEST(BootstrapConfig, FlagsWinOverEnvironment) {
  const FakeEnv env({{"FABRICBENCH_BOOTSTRAP", "tcp://envhost:1"},
                     {"FABRICBENCH_RANK", "1"},
                     {"FABRICBENCH_SIZE", "9"},
                     {"FABRICBENCH_TOKEN", "env-token"}});
  BootstrapFlags f = tcp_flags("tcp://flaghost:2", 3, 4);
  f.token = "flag-token";
  const auto got = resolve(f, env);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->host, "flaghost");
  EXPECT_EQ(got->port, 2);
  EXPECT_EQ(got->rank, 3);
  EXPECT_EQ(got->size, 4);
  EXPECT_EQ(got->token, "flag-token");
}

TEST(BootstrapConfig, FlagAndEnvironmentMix) {
  BootstrapFlags f;
  f.bootstrap = "tcp://h:5";
  f.rank = 1;
  const auto got = resolve(f, FakeEnv({{"FABRICBENCH_SIZE", "2"}, {"FABRICBENCH_RANK", "0"}}));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->rank, 1);
  EXPECT_EQ(got->size, 2);
}

TEST(BootstrapConfig, FlagSelectsLocalOverTcpEnvironment) {
  BootstrapFlags f;
  f.bootstrap = "local";
  const auto got = resolve(f, FakeEnv({{"FABRICBENCH_BOOTSTRAP", "tcp://h:5"}}));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->kind, "local");
}

TEST(BootstrapConfig, EmptyEnvironmentValueCountsAsUnset) {
  const auto got = resolve({}, FakeEnv({{"FABRICBENCH_BOOTSTRAP", ""}}));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->kind, "local");
}

TEST(BootstrapConfig, TokenDefaultsToEmpty) {
  const auto got = resolve(tcp_flags("tcp://h:5", 0, 1));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->token, "");
}

TEST(BootstrapConfig, Ipv6InBrackets) {
  const auto got = resolve(tcp_flags("tcp://[fe80::1]:7000", 0, 2));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->host, "fe80::1");
  EXPECT_EQ(got->port, 7000);
}

TEST(BootstrapConfig, TcpNeedsRankAndSize) {
  BootstrapFlags f;
  f.bootstrap = "tcp://h:5";
  expect_invalid(resolve(f),
                 "--bootstrap tcp://HOST:PORT needs --rank and --size (or FABRICBENCH_RANK/FABRICBENCH_SIZE)");
  f.rank = 0;
  expect_invalid(resolve(f), "needs --rank and --size");
}

TEST(BootstrapConfig, BadPorts) {
  for (const char* uri : {"tcp://h:0", "tcp://h:65536", "tcp://h:http", "tcp://h:", "tcp://h:12x"})
    expect_invalid(resolve(tcp_flags(uri, 0, 1)), "bad port");
}

TEST(BootstrapConfig, MalformedAddresses) {
  expect_invalid(resolve(tcp_flags("tcp://h", 0, 1)), "has no port");
  expect_invalid(resolve(tcp_flags("tcp://:5", 0, 1)), "has no host");
  expect_invalid(resolve(tcp_flags("tcp://fe80::1:5", 0, 1)), "IPv6 address in brackets");
  expect_invalid(resolve(tcp_flags("tcp://[fe80::1]5", 0, 1)), "cannot read");
  expect_invalid(resolve(tcp_flags("tcp://h:5/x", 0, 1)), "nothing may follow the port");
}

TEST(BootstrapConfig, RankOutOfRange) {
  expect_invalid(resolve(tcp_flags("tcp://h:5", 4, 4)), "--rank 4 is out of range for --size 4: ranks are 0 to 3");
  expect_invalid(resolve(tcp_flags("tcp://h:5", -1, 4)), "--rank -1 is out of range");
  const auto got = resolve(tcp_flags("tcp://h:5", 0, 0));
  expect_invalid(got, "--size 0 is not a job size");
}

TEST(BootstrapConfig, RankOutOfRangeNamesEnvironment) {
  BootstrapFlags f;
  f.bootstrap = "tcp://h:5";
  expect_invalid(resolve(f, FakeEnv({{"FABRICBENCH_RANK", "7"}, {"FABRICBENCH_SIZE", "2"}})),
                 "FABRICBENCH_RANK 7 is out of range for FABRICBENCH_SIZE 2");
}

TEST(BootstrapConfig, EnvironmentNumbersMustBeWhole) {
  BootstrapFlags f;
  f.bootstrap = "tcp://h:5";
  expect_invalid(resolve(f, FakeEnv({{"FABRICBENCH_RANK", "1a"}, {"FABRICBENCH_SIZE", "2"}})),
                 "FABRICBENCH_RANK='1a' is not a whole number");
  expect_invalid(resolve(f, FakeEnv({{"FABRICBENCH_RANK", "1"}, {"FABRICBENCH_SIZE", " 2"}})),
                 "FABRICBENCH_SIZE=' 2' is not a whole number");
}

TEST(BootstrapConfig, UnknownScheme) {
  BootstrapFlags f;
  f.bootstrap = "udp://h:5";
  expect_invalid(resolve(f), "unknown bootstrap 'udp://h:5' (from --bootstrap)");
  expect_invalid(resolve({}, FakeEnv({{"FABRICBENCH_BOOTSTRAP", "slurm"}})), "from FABRICBENCH_BOOTSTRAP");
}

TEST(BootstrapConfig, MpiWithoutMpiInTheBuildIsUnavailable) {
  for (const char* uri : {"mpi", "mpi://"}) {
    BootstrapFlags f;
    f.bootstrap = uri;
    const auto got = resolve_bootstrap_config(f, nullptr, /*mpi_built=*/false);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
    EXPECT_THAT(got.status().message(), HasSubstr("this build has no MPI"));
  }
}

TEST(BootstrapConfig, TimeoutMustBePositive) {
  BootstrapFlags f;
  f.timeout = std::chrono::milliseconds(0);
  expect_invalid(resolve(f), "timeout must be positive");
}

TEST(BootstrapConfig, NullGetenvMeansNoEnvironment) {
  const auto got = resolve_bootstrap_config({}, nullptr);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->kind, "local");
}

}  // namespace
}  // namespace fb
