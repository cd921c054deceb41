// The ucx transport's pass-through of options.settings to UCX's configuration.
#include "bootstrap/thread_bootstrap.h"
#include "conformance.h"

namespace fb::conformance {
namespace {

class UcxOptions : public TransportConformance {};

// Empty when this build has no ucx transport; SetUp() skips when UCX cannot start here.
std::vector<std::string> ucx_if_built() {
  if (TransportRegistry::instance().find("ucx") == nullptr) return {};
  return {"ucx"};
}

TEST_P(UcxOptions, SettingsReachUcx) {
  run(2, [](Rank& rank) -> Status {
    FB_TRY(sync_through_transport(rank));
    const auto description = rank.context.describe();
    const auto lanes = description.find("endpoint.lanes");
    if (lanes == description.end() || lanes->second.find("tcp/") == std::string::npos)
      return expectation_failed("with TLS=tcp the endpoint uses '" +
                                (lanes == description.end() ? std::string("?") : lanes->second) + "'");
    if (description.count("setting.TLS") == 0) return expectation_failed("the TLS setting is not described");
    return {};
  }, TransportOptions{.settings = {{"TLS", "tcp"}}});
}

// UCX itself decides which names exist (unknown ones reach its per-transport configuration and
// draw a warning there); a value it cannot parse is an error.
TEST_P(UcxOptions, MalformedSettingIsRejected) {
  auto group = std::make_shared<ThreadGroup>(1);
  ThreadBootstrap bootstrap(group, 0);
  const TransportOptions options{.settings = {{"RNDV_THRESH", "not-a-size"}}};
  auto context = open_transport("ucx", bootstrap, options);
  ASSERT_FALSE(context.ok());
  EXPECT_EQ(context.status().code(), StatusCode::kInvalidArgument) << context.status().debug_string();
}

INSTANTIATE_TEST_SUITE_P(Ucx, UcxOptions,
                         ::testing::ValuesIn(ucx_if_built()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(UcxOptions);

}  // namespace
}  // namespace fb::conformance
