#include "bootstrap/tcp_rendezvous.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "bootstrap/frame.h"
#include "bootstrap/star_protocol.h"
#include "bootstrap/tcp_socket.h"
#include "bootstrap/wire.h"

namespace fb {
namespace {

// A hello is a few names; anything bigger is not one of ours.
constexpr size_t kMaxHelloBytes = size_t{64} << 10;
// A hello is written in one go right after connecting; once its first byte is here the rest
// is too, unless the peer is not a fabricbench rank.
constexpr std::chrono::milliseconds kHelloReadBound{1000};

Status bad_message(std::string what) {
  return Status::error(StatusCode::kProtocol, "malformed bootstrap " + what, FB_HERE);
}

Bytes encode_roster(const std::vector<std::string>& hostnames) {
  ByteWriter w;
  w.u32(static_cast<uint32_t>(hostnames.size()));
  for (const std::string& h : hostnames) w.string(h);
  return w.take();
}

Expected<std::vector<std::string>> decode_roster(ByteSpan payload, int size) {
  ByteReader r(payload);
  uint32_t count = 0;
  if (!r.u32(count) || count != static_cast<uint32_t>(size)) return bad_message("roster");
  std::vector<std::string> hostnames(count);
  for (std::string& h : hostnames)
    if (!r.string(h)) return bad_message("roster");
  if (!r.at_end()) return bad_message("roster");
  return hostnames;
}

Bytes encode_text(const std::string& text) {
  ByteWriter w;
  w.string(text);
  return w.take();
}

std::string decode_text(ByteSpan payload) {
  ByteReader r(payload);
  std::string text;
  return r.string(text) ? text : "no reason given";
}

// Rank 0's side: admits one connection per rank, turning away anything else without
// letting it disturb the job.
class Admission {
 public:
  Admission(const TcpBootstrapOptions& options, const std::string& hostname)
      : o_(options), where_(format_host_port(options.host, options.port)) {
    out_.hostnames.resize(o_.size);
    out_.hostnames[0] = hostname;
    out_.members.resize(o_.size);
  }

  Expected<Rendezvous> run() {
    const int backlog = std::min(o_.size + 16, SOMAXCONN);
    FB_TRY_ASSIGN(listener_, listen_tcp(o_.host, o_.port, backlog));
    const Deadline deadline = Deadline::after(o_.timeout);
    while (joined_ < o_.size) {
      if (deadline.expired()) return fail_missing();
      FB_TRY(wait_and_serve(deadline));
    }
    send_roster();
    return std::move(out_);
  }

 private:
  Status wait_and_serve(const Deadline& deadline) {
    std::vector<pollfd> fds{{listener_.get(), POLLIN, 0}};
    for (const UniqueFd& p : pending_) fds.push_back({p.get(), POLLIN, 0});
    const int n = ::poll(fds.data(), fds.size(), deadline.poll_timeout_ms());
    if (n < 0 && errno != EINTR) return Status::from_errno(errno, "poll", FB_HERE);
    if (n <= 0) return ok_status();
    // Serve hellos first: accepting appends to pending_, which fds indexes.
    for (size_t i = fds.size() - 1; i >= 1; --i) {
      if (fds[i].revents == 0) continue;
      UniqueFd conn = std::move(pending_[i - 1]);
      pending_.erase(pending_.begin() + static_cast<long>(i - 1));
      on_hello(std::move(conn));
    }
    if (fds[0].revents != 0) accept_one();
    return ok_status();
  }

  void accept_one() {
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return;
    set_nodelay(conn.get());
    pending_.push_back(std::move(conn));
  }

  void on_hello(UniqueFd conn) {
    const std::string peer = peer_address(conn.get());
    Expected<Frame> frame = recv_frame(conn.get(), Deadline::after(kHelloReadBound), kMaxHelloBytes);
    if (!frame.ok()) {
      // A port probe that connects and leaves is not worth a line.
      if (frame.status().code() != StatusCode::kPeerFailed)
        log("ignored a connection from " + peer + ": " + frame.status().message());
      return;
    }
    Expected<Hello> hello = frame->type == FrameType::kHello ? decode_hello(frame->payload)
                                                             : Expected<Hello>(bad_message("hello"));
    if (!hello.ok()) return refuse(std::move(conn), peer, "this is not a fabricbench bootstrap hello");
    const std::string reason = refusal_reason(*hello);
    if (!reason.empty())
      return refuse(std::move(conn), peer + " (claiming rank " + std::to_string(hello->rank) + ")", reason);
    out_.hostnames[hello->rank] = hello->hostname;
    out_.members[hello->rank] = std::move(conn);
    ++joined_;
  }

  std::string refusal_reason(const Hello& h) const {
    const std::string n = std::to_string(o_.size);
    if (h.magic != kHelloMagic) return "this is not a fabricbench bootstrap hello";
    if (h.version != kTcpProtocolVersion)
      return "protocol version " + std::to_string(h.version) + " is not version " +
             std::to_string(kTcpProtocolVersion) + " used by rank 0; run the same fabricbench "
             "build on every host";
    if (h.token != o_.token) return "wrong job token";
    if (h.size != o_.size)
      return "wrong job size: rank 0 runs a job of " + n + " ranks, this rank was started with --size " +
             std::to_string(h.size);
    if (h.rank < 0 || h.rank >= o_.size)
      return "rank " + std::to_string(h.rank) + " is out of range for a job of " + n + " ranks";
    if (h.rank == 0) return "rank 0 is already running at " + where_ + "; was a second rank 0 started?";
    const UniqueFd& existing = out_.members[h.rank];
    // A rank that died and was restarted may take its place back.
    if (existing && !peer_closed(existing.get()))
      return "rank " + std::to_string(h.rank) + " has already joined; was another process started "
             "with --rank " + std::to_string(h.rank) + "?";
    return "";
  }

  void refuse(UniqueFd conn, const std::string& who, const std::string& reason) {
    log("refused a connection from " + who + ": " + reason);
    (void)send_frame(conn.get(), FrameType::kRefuse, encode_text(reason), Deadline::after(kHelloReadBound));
  }

  Status fail_missing() {
    std::string missing;
    for (int r = 1; r < o_.size; ++r)
      if (!out_.members[r]) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    const Status failed = Status::error(
        StatusCode::kTimeout,
        "bootstrap rank 0 at " + where_ + ": rank(s) " + missing + " did not join within " +
            format_duration(o_.timeout) + "; start them with --bootstrap tcp://" + where_ +
            " --size " + std::to_string(o_.size) + " and the same --token",
        FB_HERE);
    const Bytes abort = encode_abort(failed);
    for (const UniqueFd& m : out_.members)
      if (m) (void)send_frame(m.get(), FrameType::kAbort, abort, Deadline::after(kHelloReadBound));
    return failed;
  }

  // A member that died since its hello shows up at the first exchange; nothing to do here.
  void send_roster() {
    const Bytes roster = encode_roster(out_.hostnames);
    for (const UniqueFd& m : out_.members)
      if (m) (void)send_frame(m.get(), FrameType::kRoster, roster, Deadline::after(o_.timeout));
  }

  void log(const std::string& message) const {
    const std::string line = "bootstrap rank 0 at " + where_ + " " + message;
    if (o_.log) o_.log(line);
    else std::fprintf(stderr, "fabricbench: %s\n", line.c_str());
  }

  const TcpBootstrapOptions& o_;
  const std::string where_;
  UniqueFd listener_;
  std::vector<UniqueFd> pending_;
  Rendezvous out_;
  int joined_ = 1;
};

Status member_join_error(const Status& cause, int rank, const std::string& where,
                         std::chrono::milliseconds waited) {
  const std::string me = "rank " + std::to_string(rank) + ": ";
  if (cause.code() == StatusCode::kPeerFailed)
    return Status::error(cause.code(), me + "lost connection to bootstrap rank 0 at " + where +
                                           " while joining the job", FB_HERE);
  if (cause.code() == StatusCode::kTimeout)
    return Status::error(cause.code(), me + "bootstrap rank 0 at " + where +
                                           " did not admit this rank within " + format_duration(waited) +
                                           "; are all ranks started with the same --size?",
                         FB_HERE);
  return cause.with_context(me).through(FB_HERE);
}

}  // namespace

Bytes encode_hello(const Hello& h) {
  ByteWriter w;
  w.u32(h.magic);
  w.u32(h.version);
  w.u32(static_cast<uint32_t>(h.rank));
  w.u32(static_cast<uint32_t>(h.size));
  w.string(h.token);
  w.string(h.hostname);
  return w.take();
}

Expected<Hello> decode_hello(ByteSpan payload) {
  ByteReader r(payload);
  Hello h;
  uint32_t rank = 0;
  uint32_t size = 0;
  if (!r.u32(h.magic) || !r.u32(h.version) || !r.u32(rank) || !r.u32(size) || !r.string(h.token) ||
      !r.string(h.hostname) || !r.at_end())
    return bad_message("hello");
  h.rank = static_cast<int>(rank);
  h.size = static_cast<int>(size);
  return h;
}

Expected<Rendezvous> rendezvous_as_root(const TcpBootstrapOptions& options, const std::string& hostname) {
  return Admission(options, hostname).run();
}

Expected<Rendezvous> rendezvous_as_member(const TcpBootstrapOptions& o, const std::string& hostname) {
  const std::string where = format_host_port(o.host, o.port);
  const std::string me = "rank " + std::to_string(o.rank) + ": ";
  Expected<UniqueFd> conn = connect_tcp_with_retry(o.host, o.port, Deadline::after(o.timeout));
  if (!conn.ok()) return conn.status().with_context("rank " + std::to_string(o.rank)).through(FB_HERE);
  const Hello hello{kHelloMagic, kTcpProtocolVersion, o.rank, o.size, o.token, hostname};
  const Status sent = send_frame(conn->get(), FrameType::kHello, encode_hello(hello), Deadline::after(o.timeout));
  // If rank 0 hung up on us it may have said why first; read that before giving up.
  if (!sent.ok() && sent.code() != StatusCode::kPeerFailed) return sent.with_context(me).through(FB_HERE);
  const std::chrono::milliseconds wait = o.timeout + kHubGrace;
  Expected<Frame> reply = recv_frame(conn->get(), Deadline::after(wait));
  if (!reply.ok()) return member_join_error(reply.status(), o.rank, where, wait);
  switch (reply->type) {
    case FrameType::kRefuse:
      return Status::error(StatusCode::kProtocol,
                           me + "bootstrap rank 0 refused this rank: " + decode_text(reply->payload),
                           FB_HERE);
    case FrameType::kAbort:
      return decode_abort(reply->payload).with_context(me + "could not join the job").through(FB_HERE);
    case FrameType::kRoster: {
      FB_TRY_ASSIGN(std::vector<std::string> hostnames, decode_roster(reply->payload, o.size));
      Rendezvous out;
      out.hostnames = std::move(hostnames);
      out.root = std::move(*conn);
      return out;
    }
    default:
      return bad_message("answer to a hello from rank 0 at " + where).with_context(me).through(FB_HERE);
  }
}

}  // namespace fb
