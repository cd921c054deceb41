#include "bootstrap/tcp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <thread>

namespace fb {
namespace {

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { ::freeaddrinfo(ai); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// Returns the getaddrinfo() error code; 0 on success.
int resolve(const std::string& host, uint16_t port, int flags, AddrInfoPtr& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(),
                               std::to_string(port).c_str(), &hints, &list);
  out.reset(rc == 0 ? list : nullptr);
  return rc;
}

bool is_this_host(const std::string& host) {
  if (host.empty() || host == "0.0.0.0" || host == "*") return true;
  const std::string me = this_hostname();
  const auto shorten = [](const std::string& name) { return name.substr(0, name.find('.')); };
  return host == me || host == shorten(me) || shorten(host) == me;
}

Expected<UniqueFd> listen_on(const sockaddr* addr, socklen_t len, int backlog) {
  UniqueFd fd(::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Status::from_errno(errno, "socket", FB_HERE);
  // A previous job's connections in TIME_WAIT must not block a rerun on the same port.
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), addr, len) != 0) return Status::from_errno(errno, "bind", FB_HERE);
  if (::listen(fd.get(), backlog) != 0) return Status::from_errno(errno, "listen", FB_HERE);
  return fd;
}

Status listen_error(const Status& cause, const std::string& where) {
  std::string advice;
  if (cause.native_code() == EADDRINUSE)
    advice = "; another job may hold that port: choose another port";
  else if (cause.native_code() == EADDRNOTAVAIL)
    advice = "; start rank 0 on the host named in --bootstrap, or name that host's address";
  return Status::error(cause.native_code() == EADDRINUSE ? StatusCode::kUnavailable : cause.code(),
                       "bootstrap rank 0 cannot listen on " + where + ": " +
                           std::strerror(static_cast<int>(cause.native_code())) + advice,
                       FB_HERE);
}

// With nothing listening yet, a connect to a local port in the ephemeral range can, rarely,
// be given that same port as its source and "succeed" by talking to itself.
bool connected_to_itself(int fd) {
  sockaddr_storage mine{};
  sockaddr_storage peer{};
  socklen_t mine_len = sizeof mine;
  socklen_t peer_len = sizeof peer;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &mine_len) != 0 ||
      ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0)
    return false;
  return mine_len == peer_len && std::memcmp(&mine, &peer, mine_len) == 0;
}

// One non-blocking connect bounded by the deadline. Returns the errno on failure.
int connect_once(const addrinfo* ai, const Deadline& deadline, UniqueFd& out) {
  UniqueFd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return errno;
  if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return errno;
    pollfd p{fd.get(), POLLOUT, 0};
    int n = 0;
    while ((n = ::poll(&p, 1, deadline.poll_timeout_ms())) < 0 && errno == EINTR) {
    }
    if (n == 0) return ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof err;
    if (n < 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    if (err != 0) return err;
  }
  if (connected_to_itself(fd.get())) return ECONNREFUSED;
  // Frames use MSG_DONTWAIT per call; the socket itself stays in the ordinary blocking mode.
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  set_nodelay(fd.get());
  out = std::move(fd);
  return 0;
}

}  // namespace

std::string format_host_port(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string format_duration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

std::string this_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

Expected<UniqueFd> listen_tcp(const std::string& host, uint16_t port, int backlog) {
  const std::string where = format_host_port(host, port);
  if (is_this_host(host)) {
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_ANY);
    any.sin_port = htons(port);
    Expected<UniqueFd> fd = listen_on(reinterpret_cast<const sockaddr*>(&any), sizeof any, backlog);
    if (!fd.ok()) return listen_error(fd.status(), where);
    return fd;
  }
  AddrInfoPtr list;
  if (const int rc = resolve(host, port, AI_PASSIVE, list); rc != 0)
    return Status::error(StatusCode::kInvalidArgument,
                         "cannot resolve bootstrap host '" + host + "': " + ::gai_strerror(rc) +
                             "; check HOST in --bootstrap tcp://HOST:PORT",
                         FB_HERE);
  Status last;
  for (const addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
    Expected<UniqueFd> fd = listen_on(ai->ai_addr, ai->ai_addrlen, backlog);
    if (fd.ok()) return fd;
    last = fd.status();
  }
  return listen_error(last, where);
}

Expected<UniqueFd> connect_tcp_with_retry(const std::string& host, uint16_t port,
                                          const Deadline& deadline) {
  std::chrono::milliseconds backoff{20};
  std::string last_error = "no attempt finished";
  for (;;) {
    AddrInfoPtr list;
    const int rc = resolve(host, port, 0, list);
    if (rc != 0 && rc != EAI_AGAIN)
      return Status::error(StatusCode::kInvalidArgument,
                           "cannot resolve bootstrap host '" + host + "': " + ::gai_strerror(rc) +
                               "; check HOST in --bootstrap tcp://HOST:PORT",
                           FB_HERE);
    if (rc == EAI_AGAIN) last_error = ::gai_strerror(rc);
    for (const addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
      UniqueFd fd;
      const int err = connect_once(ai, deadline, fd);
      if (err == 0) return fd;
      last_error = std::strerror(err);
    }
    if (deadline.expired())
      return Status::error(StatusCode::kUnavailable,
                           "could not reach bootstrap rank 0 at " + format_host_port(host, port) +
                               " within " + format_duration(deadline.budget()) + ": " +
                               last_error + "; is rank 0 running?",
                           FB_HERE);
    std::this_thread::sleep_for(
        std::min<std::chrono::milliseconds>(backoff, std::chrono::milliseconds(deadline.poll_timeout_ms())));
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::milliseconds(500));
  }
}

void set_nodelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "an unknown peer";
  char host[NI_MAXHOST] = {};
  char serv[NI_MAXSERV] = {};
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "an unknown peer";
  return format_host_port(host, static_cast<uint16_t>(std::atoi(serv)));
}

bool peer_closed(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

}  // namespace fb
