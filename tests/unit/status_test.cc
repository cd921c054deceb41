#include "fabricbench/transport/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace fb {
namespace {

Expected<int> half(int value) {
  if (value % 2) return Status::error(StatusCode::kInvalidArgument, "odd value " + std::to_string(value), FB_HERE);
  return value / 2;
}

Expected<int> quarter(int value) {
  FB_TRY_ASSIGN(int h, half(value));
  FB_TRY_ASSIGN(int q, half(h));
  return q;
}

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.to_string(), "ok");
}

TEST(Status, PropagationAddsTrail) {
  auto q = quarter(6);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(q.status().to_string(), "odd value 3");
  const std::string debug = q.status().debug_string();
  EXPECT_NE(debug.find("status_test.cc"), std::string::npos);
  EXPECT_GE(std::count(debug.begin(), debug.end(), '\n'), 2);
  EXPECT_EQ(quarter(8).value(), 2);
}

TEST(Status, ErrnoAndNativeCarryCodeAndOperation) {
  Status e = Status::from_errno(ECONNREFUSED, "connect", FB_HERE);
  EXPECT_EQ(e.native_code(), ECONNREFUSED);
  EXPECT_EQ(e.operation(), "connect");
  EXPECT_NE(e.to_string().find("refused"), std::string::npos);
  Status n = Status::native("ucx", -3, "No such element", "ucp_ep_create", FB_HERE);
  EXPECT_EQ(n.code(), StatusCode::kNative);
  EXPECT_EQ(n.native_code(), -3);
  EXPECT_NE(n.to_string().find("ucp_ep_create failed: No such element (ucx code -3)"), std::string::npos);
}

TEST(Status, ContextPrefixesWithoutChangingOriginal) {
  Status base = Status::error(StatusCode::kTimeout, "no answer", FB_HERE);
  Status ctx = base.with_context("rank 3");
  EXPECT_EQ(ctx.to_string(), "rank 3: no answer");
  EXPECT_EQ(base.to_string(), "no answer");
  EXPECT_EQ(ctx.code(), StatusCode::kTimeout);
}

}  // namespace
}  // namespace fb
