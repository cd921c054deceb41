#include "bootstrap/frame.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <string>

#include "bootstrap/wire.h"

namespace fb {
namespace {

Status peer_gone(std::string what) {
  return Status::error(StatusCode::kPeerFailed, std::move(what), FB_HERE);
}

// Waits until fd is ready or the deadline passes. Spurious wakeups and EINTR just retry.
Status wait_ready(int fd, short events, const Deadline& deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, deadline.poll_timeout_ms());
    if (n > 0) return ok_status();  // ready, or hung up: the next send/recv says which
    if (n < 0 && errno != EINTR) return Status::from_errno(errno, "poll", FB_HERE);
    if (n == 0 && deadline.expired())
      return Status::error(StatusCode::kTimeout,
                           "no progress on the connection within " +
                               std::to_string(deadline.budget().count()) + " ms",
                           FB_HERE);
  }
}

// Header and payload leave in one sendmsg() where they fit, so a small frame is one TCP
// segment and never waits on Nagle. MSG_DONTWAIT on each call keeps the socket itself
// blocking (simpler for other users of the fd) while letting the deadline bound every wait.
Status write_all(int fd, iovec* iov, int count, const Deadline& deadline) {
  while (count > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      FB_TRY(wait_ready(fd, POLLOUT, deadline));
      continue;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
      return peer_gone("connection closed by the peer");
    if (n < 0) return Status::from_errno(errno, "sendmsg", FB_HERE);
    size_t sent = static_cast<size_t>(n);
    while (count > 0 && sent >= iov->iov_len) {
      sent -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + sent;
      iov->iov_len -= sent;
    }
  }
  return ok_status();
}

// started: whether part of the frame was already read, so EOF here cuts a frame in half.
Status read_exact(int fd, std::byte* data, size_t len, bool started, const Deadline& deadline) {
  size_t got = 0;
  while (got < len) {
    const ssize_t n = ::recv(fd, data + got, len - got, MSG_DONTWAIT);
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return peer_gone(started || got > 0 ? "connection closed by the peer in the middle of a frame"
                                          : "connection closed by the peer");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      FB_TRY(wait_ready(fd, POLLIN, deadline));
      continue;
    }
    return Status::from_errno(errno, "recv", FB_HERE);
  }
  return ok_status();
}

bool known_type(uint32_t type) {
  return type >= static_cast<uint32_t>(FrameType::kHello) &&
         type <= static_cast<uint32_t>(FrameType::kAbort);
}

}  // namespace

Status send_frame(int fd, FrameType type, ByteSpan payload, const Deadline& deadline) {
  if (payload.size() > kMaxFrameBytes)
    return Status::error(StatusCode::kInvalidArgument,
                         "bootstrap message of " + std::to_string(payload.size()) +
                             " bytes exceeds the " + std::to_string(kMaxFrameBytes >> 20) +
                             " MiB limit; exchange less data per rank",
                         FB_HERE);
  ByteWriter header;
  header.u32(static_cast<uint32_t>(payload.size()));
  header.u32(static_cast<uint32_t>(type));
  iovec iov[2] = {{header.buffer().data(), header.buffer().size()},
                  {const_cast<std::byte*>(payload.data()), payload.size()}};
  return write_all(fd, iov, payload.empty() ? 1 : 2, deadline);
}

Expected<Frame> recv_frame(int fd, const Deadline& deadline, size_t max_payload) {
  std::byte header[kFrameHeaderBytes];
  FB_TRY(read_exact(fd, header, sizeof header, false, deadline));
  ByteReader reader(header);
  uint32_t length = 0;
  uint32_t type = 0;
  reader.u32(length);
  reader.u32(type);
  if (length > max_payload || length > kMaxFrameBytes)
    return Status::error(StatusCode::kProtocol,
                         "received a bootstrap frame of " + std::to_string(length) +
                             " bytes, over the limit of " + std::to_string(max_payload) +
                             "; is the peer a fabricbench bootstrap of the same version?",
                         FB_HERE);
  if (!known_type(type))
    return Status::error(StatusCode::kProtocol,
                         "received a bootstrap frame of unknown type " + std::to_string(type) +
                             "; is the peer a fabricbench bootstrap of the same version?",
                         FB_HERE);
  Frame frame{static_cast<FrameType>(type), Bytes(length)};
  FB_TRY(read_exact(fd, frame.payload.data(), length, true, deadline));
  return frame;
}

}  // namespace fb
