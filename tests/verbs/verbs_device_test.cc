// The verbs transport on a real device (the soft-RoCE VM): device, port and GID selection as
// recorded, and the errors a user gets for a wrong setting. Skips, saying why, on hosts
// without a usable RDMA device.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "bootstrap/thread_bootstrap.h"
#include "fabricbench/transport/registry.h"

namespace fb {
namespace {

class VerbsDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    info_ = TransportRegistry::instance().find("verbs");
    ASSERT_NE(info_, nullptr);
    if (Status usable = info_->probe(); !usable.ok())
      GTEST_SKIP() << "verbs is not usable here: " << usable.to_string();
  }
  // A one-rank job: its only QP is connected to itself.
  Expected<std::unique_ptr<Context>> open(std::map<std::string, std::string> settings) {
    bootstrap_ = std::make_unique<ThreadBootstrap>(std::make_shared<ThreadGroup>(1), 0);
    TransportOptions options;
    options.timeout = std::chrono::seconds(20);
    options.settings = std::move(settings);
    return info_->open(*bootstrap_, options);
  }

  const TransportInfo* info_ = nullptr;
  std::unique_ptr<ThreadBootstrap> bootstrap_;
};

TEST_F(VerbsDevice, DefaultGidIsRoceV2WithIpv4) {
  auto context = open({});
  ASSERT_TRUE(context.ok()) << context.status().debug_string();
  const auto d = context.value()->describe();
  if (d.at("port.link_layer") != "Ethernet") GTEST_SKIP() << "not a RoCE port";
  EXPECT_EQ(d.at("gid.type"), "RoCEv2");
  EXPECT_EQ(d.at("gid").rfind("::ffff:", 0), 0u) << d.at("gid");
  EXPECT_NE(d.at("gid.netdev"), "-");
  for (const char* key : {"device", "port", "gid.index", "port.active_mtu", "qp.path_mtu", "qp.sq_depth"})
    EXPECT_TRUE(d.count(key)) << key;
  // The lab exports the index it found by hand.
  if (const char* expected = std::getenv("RXE_GID")) {
    EXPECT_EQ(d.at("gid.index"), expected);
  }
  if (const char* ip = std::getenv("RXE_IP")) {
    EXPECT_EQ(d.at("gid"), std::string("::ffff:") + ip);
  }
  EXPECT_TRUE(context.value()->close().ok());
}

TEST_F(VerbsDevice, MessagesAndRmaToItself) {
  auto opened = open({});
  ASSERT_TRUE(opened.ok()) << opened.status().debug_string();
  Context& context = *opened.value();
  auto endpoint = context.connect(0);
  ASSERT_TRUE(endpoint.ok());
  std::vector<char> out(100'000, 'x'), in(100'000, 0);
  auto recv = endpoint.value()->recv(in.data(), in.size(), 5);
  ASSERT_TRUE(recv.ok());
  auto send = endpoint.value()->send(out.data(), out.size(), 5);
  ASSERT_TRUE(send.ok());
  ASSERT_TRUE(wait(context, recv.value(), std::chrono::seconds(20), "self recv").ok());
  ASSERT_TRUE(wait(context, send.value(), std::chrono::seconds(20), "self send").ok());
  EXPECT_EQ(in, out);

  auto window = allocate_host(4096);
  ASSERT_TRUE(window.ok());
  std::memset(window.value()->data(), 0, 4096);
  auto region = context.register_memory(window.value()->span());
  ASSERT_TRUE(region.ok());
  auto remote = context.import_region(0, region.value()->pack());
  ASSERT_TRUE(remote.ok());
  std::memset(window.value()->bytes(), 7, 16);
  auto put = endpoint.value()->put(window.value()->bytes(), 16, *region.value(), *remote.value(), 2048);
  ASSERT_TRUE(put.ok());
  auto flush = endpoint.value()->flush();
  ASSERT_TRUE(flush.ok());
  ASSERT_TRUE(wait(context, put.value(), std::chrono::seconds(20), "self put").ok());
  ASSERT_TRUE(wait(context, flush.value(), std::chrono::seconds(20), "self flush").ok());
  EXPECT_EQ(window.value()->bytes()[2048 + 15], std::byte{7});
  EXPECT_TRUE(context.close().ok());
}

TEST_F(VerbsDevice, BadGidIndexIsAClearError) {
  auto context = open({{"gid_index", "200"}});
  ASSERT_FALSE(context.ok());
  EXPECT_NE(context.status().message().find("gid_index 200 is not a populated GID"), std::string::npos)
      << context.status().message();
}

TEST_F(VerbsDevice, UnknownDeviceIsAClearError) {
  auto context = open({{"ib_dev", "nosuch0"}});
  ASSERT_FALSE(context.ok());
  EXPECT_NE(context.status().message().find("no RDMA device named 'nosuch0' (found: "), std::string::npos)
      << context.status().message();
}

TEST_F(VerbsDevice, UnknownSettingIsAClearError) {
  auto context = open({{"gidindex", "1"}});
  ASSERT_FALSE(context.ok());
  EXPECT_EQ(context.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fb
