#include "bootstrap/tcp_bootstrap.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "bootstrap/star_hub.h"
#include "bootstrap/star_protocol.h"
#include "bootstrap/tcp_rendezvous.h"
#include "bootstrap/tcp_socket.h"

namespace fb {
namespace {

Status check_options(const TcpBootstrapOptions& o) {
  const auto invalid = [](std::string m) {
    return Status::error(StatusCode::kInvalidArgument, std::move(m), FB_HERE);
  };
  if (o.host.empty() || o.port == 0) return invalid("the tcp bootstrap needs tcp://HOST:PORT with a non-zero port");
  if (o.size < 1 || o.rank < 0 || o.rank >= o.size)
    return invalid("tcp bootstrap rank " + std::to_string(o.rank) + " is out of range for a job of " +
                   std::to_string(o.size) + " ranks");
  if (o.timeout.count() <= 0) return invalid("the bootstrap timeout must be positive");
  return ok_status();
}

}  // namespace

TcpBootstrap::TcpBootstrap(const TcpBootstrapOptions& o, std::vector<std::string> hostnames)
    : rank_(o.rank),
      size_(o.size),
      address_(format_host_port(o.host, o.port)),
      hostnames_(std::move(hostnames)) {
  set_timeout(o.timeout);
  // Ranks on one host are numbered in rank order, so local_rank is stable across runs.
  local_rank_ = 0;
  local_size_ = 0;
  for (int r = 0; r < size_; ++r) {
    if (hostnames_[r] != hostnames_[rank_]) continue;
    if (r < rank_) ++local_rank_;
    ++local_size_;
  }
}

TcpBootstrap::~TcpBootstrap() = default;

Expected<std::unique_ptr<TcpBootstrap>> TcpBootstrap::connect(const TcpBootstrapOptions& o) {
  FB_TRY(check_options(o));
  const std::string hostname = o.hostname.empty() ? this_hostname() : o.hostname;
  FB_TRY_ASSIGN(Rendezvous joined,
                o.rank == 0 ? rendezvous_as_root(o, hostname) : rendezvous_as_member(o, hostname));
  std::unique_ptr<TcpBootstrap> b(new TcpBootstrap(o, std::move(joined.hostnames)));
  b->root_ = std::move(joined.root);
  b->members_ = std::move(joined.members);
  if (o.rank == 0) {
    b->hub_ = std::make_unique<StarHub>(o.size, o.timeout, [host = b->hostnames_](int r) {
      return "rank " + std::to_string(r) + " (host " + host[r] + ")";
    });
    for (int r = 1; r < o.size; ++r) b->hub_->attach(r, b->members_[r].get());
  }
  return b;
}

Expected<std::vector<Bytes>> TcpBootstrap::allgather(ByteSpan mine) {
  if (!failure_.ok()) return failure_;
  Expected<std::vector<Bytes>> all =
      hub_ ? allgather_as_hub(mine)
           : member_allgather({root_.get(), rank_, size_, "bootstrap rank 0 at " + address_}, mine,
                              timeout());
  if (!all.ok()) failure_ = all.status();
  return all;
}

Expected<std::vector<Bytes>> TcpBootstrap::allgather_as_hub(ByteSpan mine) {
  if (mine.size() > kMaxFrameBytes)
    return Status::error(StatusCode::kInvalidArgument,
                         "rank 0: bootstrap contribution of " + std::to_string(mine.size()) +
                             " bytes exceeds the " + std::to_string(kMaxFrameBytes >> 20) + " MiB limit",
                         FB_HERE);
  StarHub& hub = *hub_;
  hub.set_timeout(timeout());
  const uint64_t done = hub.completed_rounds();
  hub.contribute(0, Bytes(mine.begin(), mine.end()));
  while (!hub.failed() && hub.completed_rounds() == done) {
    const std::vector<int> ranks = hub.watched_ranks();
    std::vector<pollfd> fds;
    for (int r : ranks) fds.push_back({hub.fd(r), POLLIN, 0});
    const int n = ::poll(fds.data(), fds.size(), hub.poll_timeout_ms());
    if (n < 0 && errno != EINTR)
      hub.fail(StatusCode::kIoError, std::string("bootstrap rank 0 could not poll: ") + std::strerror(errno));
    for (size_t i = 0; n > 0 && i < ranks.size(); ++i) {
      if (fds[i].revents != 0 && !hub.read_from(ranks[i]))
        hub.member_gone(ranks[i], "closed its connection to bootstrap rank 0 (it exited, was killed "
                                  "or lost the network)");
    }
    hub.check_deadline();
  }
  if (hub.failed()) {
    end_job_for_members();
    return hub.failure().with_context("rank 0: bootstrap exchange failed").through(FB_HERE);
  }
  return hub.last_result();
}

// The abort is already on its way; a half-close delivers it and then EOF, so a member that
// tries another exchange fails at once instead of waiting for a reply.
void TcpBootstrap::end_job_for_members() {
  for (const UniqueFd& m : members_)
    if (m) ::shutdown(m.get(), SHUT_WR);
}

Expected<std::unique_ptr<Bootstrap>> connect_tcp_bootstrap(const BootstrapConfig& config) {
  if (config.kind != "tcp")
    return Status::error(StatusCode::kInvalidArgument,
                         "connect_tcp_bootstrap needs a tcp configuration, got '" + config.kind + "'",
                         FB_HERE);
  TcpBootstrapOptions o;
  o.host = config.host;
  o.port = config.port;
  o.rank = config.rank;
  o.size = config.size;
  o.token = config.token;
  o.timeout = config.timeout;
  FB_TRY_ASSIGN(std::unique_ptr<TcpBootstrap> b, TcpBootstrap::connect(o));
  return std::unique_ptr<Bootstrap>(std::move(b));
}

}  // namespace fb
