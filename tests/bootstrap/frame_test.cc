#include "bootstrap/frame.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <memory>
#include <thread>

#include "bootstrap/star_protocol.h"
#include "bootstrap/tcp_rendezvous.h"
#include "bootstrap/unique_fd.h"
#include "bootstrap/wire.h"

namespace fb {
namespace {

using ::testing::HasSubstr;
using std::chrono::milliseconds;

struct Pair {
  UniqueFd a;
  UniqueFd b;
};

Pair socket_pair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Bytes pattern(size_t n, int seed) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 131 + seed) & 0xff);
  return out;
}

Deadline soon() { return Deadline::after(milliseconds(5000)); }

void write_raw(int fd, const Bytes& data) {
  ASSERT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL), static_cast<ssize_t>(data.size()));
}

Bytes header(uint32_t length, uint32_t type) {
  ByteWriter w;
  w.u32(length);
  w.u32(type);
  return w.take();
}

TEST(BootstrapFrame, RoundTripSmallAndEmpty) {
  Pair p = socket_pair();
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}}) {
    const Bytes sent = pattern(n, 7);
    ASSERT_TRUE(send_frame(p.a.get(), FrameType::kContribution, sent, soon()).ok());
    Expected<Frame> got = recv_frame(p.b.get(), soon());
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(got->type, FrameType::kContribution);
    EXPECT_EQ(got->payload, sent);
  }
}

TEST(BootstrapFrame, RoundTripLargerThanSocketBuffer) {
  Pair p = socket_pair();
  const Bytes sent = pattern(8 << 20, 3);
  Status send_status;
  std::thread writer([&] { send_status = send_frame(p.a.get(), FrameType::kResult, sent, soon()); });
  Expected<Frame> got = recv_frame(p.b.get(), soon());
  writer.join();
  ASSERT_TRUE(send_status.ok()) << send_status.message();
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->type, FrameType::kResult);
  EXPECT_TRUE(got->payload == sent);
}

TEST(BootstrapFrame, OversizeLengthIsRejected) {
  Pair p = socket_pair();
  write_raw(p.a.get(), header(static_cast<uint32_t>(kMaxFrameBytes + 1), 4));
  Expected<Frame> got = recv_frame(p.b.get(), soon());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kProtocol);
  EXPECT_THAT(got.status().message(), HasSubstr("over the limit"));
}

TEST(BootstrapFrame, CallerLimitIsEnforced) {
  Pair p = socket_pair();
  ASSERT_TRUE(send_frame(p.a.get(), FrameType::kHello, pattern(100, 1), soon()).ok());
  Expected<Frame> got = recv_frame(p.b.get(), soon(), 99);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kProtocol);
}

TEST(BootstrapFrame, OversizePayloadIsNotSent) {
  Pair p = socket_pair();
  // Never touched, so the pages are never really allocated.
  std::unique_ptr<std::byte[]> big(new std::byte[kMaxFrameBytes + 1]);
  const Status s = send_frame(p.a.get(), FrameType::kContribution,
                              ByteSpan(big.get(), kMaxFrameBytes + 1), soon());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("256 MiB"));
}

TEST(BootstrapFrame, UnknownTypeIsRejected) {
  Pair p = socket_pair();
  write_raw(p.a.get(), header(0, 99));
  Expected<Frame> got = recv_frame(p.b.get(), soon());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kProtocol);
  EXPECT_THAT(got.status().message(), HasSubstr("unknown type 99"));
}

TEST(BootstrapFrame, EofBetweenFramesIsPeerFailure) {
  Pair p = socket_pair();
  p.a.reset();
  Expected<Frame> got = recv_frame(p.b.get(), soon());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kPeerFailed);
  EXPECT_EQ(got.status().message(), "connection closed by the peer");
}

TEST(BootstrapFrame, EofInsideFrameIsPeerFailure) {
  Pair p = socket_pair();
  write_raw(p.a.get(), header(10, 4));
  write_raw(p.a.get(), pattern(4, 0));
  p.a.reset();
  Expected<Frame> got = recv_frame(p.b.get(), soon());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kPeerFailed);
  EXPECT_THAT(got.status().message(), HasSubstr("middle of a frame"));
}

TEST(BootstrapFrame, SilentPeerTimesOut) {
  Pair p = socket_pair();
  const auto start = Clock::now();
  Expected<Frame> got = recv_frame(p.b.get(), Deadline::after(milliseconds(100)));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kTimeout);
  EXPECT_GE(Clock::now() - start, milliseconds(100));
}

TEST(BootstrapFrame, SendToClosedPeerFailsWithoutSigpipe) {
  Pair p = socket_pair();
  p.b.reset();
  const Status s = send_frame(p.a.get(), FrameType::kContribution, pattern(10, 0), soon());
  EXPECT_EQ(s.code(), StatusCode::kPeerFailed);
}

TEST(BootstrapFrame, GatheredRoundTrip) {
  const std::vector<Bytes> all{{}, pattern(3, 1), pattern(70000, 2)};
  Expected<std::vector<Bytes>> got = decode_gathered(encode_gathered(all), 3);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, all);
}

TEST(BootstrapFrame, GatheredRejectsMalformed) {
  Bytes encoded = encode_gathered({pattern(5, 1), pattern(6, 2)});
  EXPECT_EQ(decode_gathered(encoded, 3).status().code(), StatusCode::kProtocol);
  Bytes truncated(encoded.begin(), encoded.end() - 1);
  EXPECT_EQ(decode_gathered(truncated, 2).status().code(), StatusCode::kProtocol);
  encoded.push_back(std::byte{0});
  EXPECT_EQ(decode_gathered(encoded, 2).status().code(), StatusCode::kProtocol);
}

TEST(BootstrapFrame, AbortCarriesCodeAndMessage) {
  const Status sent = Status::error(StatusCode::kTimeout, "rank 3 did not answer", FB_HERE);
  const Status got = decode_abort(encode_abort(sent));
  EXPECT_EQ(got.code(), StatusCode::kTimeout);
  EXPECT_EQ(got.message(), "rank 3 did not answer");
  EXPECT_EQ(decode_abort(Bytes{std::byte{1}}).code(), StatusCode::kProtocol);
}

TEST(BootstrapFrame, HelloRoundTrip) {
  const Hello sent{kHelloMagic, kTcpProtocolVersion, 3, 8, "tok", "node7"};
  Expected<Hello> got = decode_hello(encode_hello(sent));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->rank, 3);
  EXPECT_EQ(got->size, 8);
  EXPECT_EQ(got->token, "tok");
  EXPECT_EQ(got->hostname, "node7");
  Bytes cut = encode_hello(sent);
  cut.pop_back();
  EXPECT_EQ(decode_hello(cut).status().code(), StatusCode::kProtocol);
}

}  // namespace
}  // namespace fb
