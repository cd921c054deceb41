// Ranks are threads of the test process talking over 127.0.0.1, except where a rank must
// die: that one is a forked child.
#include "bootstrap/tcp_bootstrap.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <future>
#include <mutex>
#include <thread>

#include "bootstrap/frame.h"
#include "bootstrap/star_protocol.h"
#include "bootstrap/tcp_rendezvous.h"
#include "bootstrap/tcp_socket.h"
#include "bootstrap/wire.h"

namespace fb {
namespace {

using ::testing::HasSubstr;
using std::chrono::milliseconds;

// Asks the kernel for a port nobody uses. Another process could take it before rank 0
// binds it; on a test machine that is rare enough.
uint16_t free_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  return ntohs(a.sin_port);
}

class Job {
 public:
  explicit Job(int size, milliseconds timeout = milliseconds(20000)) : size_(size), timeout_(timeout) {}

  TcpBootstrapOptions options(int rank) {
    TcpBootstrapOptions o;
    o.host = "127.0.0.1";
    o.port = port_;
    o.rank = rank;
    o.size = size_;
    o.token = "job-token";
    o.timeout = timeout_;
    o.log = [this](const std::string& line) {
      std::lock_guard lock(mutex_);
      log_ += line + "\n";
    };
    return o;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  std::string log() {
    std::lock_guard lock(mutex_);
    return log_;
  }

 private:
  const uint16_t port_ = free_port();
  const int size_;
  const milliseconds timeout_;
  std::mutex mutex_;
  std::string log_;
};

Bytes contribution(int rank, int round) {
  Bytes out(static_cast<size_t>(rank * 53 + round % 7));
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::byte>(rank * 13 + round + i);
  return out;
}

Status wrong_data(const std::string& what) {
  return Status::error(StatusCode::kDataCorruption, what, FB_HERE);
}

// A rank's whole life in a thread: join, then run body; the first error is the result.
std::future<Status> start_rank(const TcpBootstrapOptions& o,
                               std::function<Status(TcpBootstrap&)> body = nullptr) {
  return std::async(std::launch::async, [o, body]() -> Status {
    Expected<std::unique_ptr<TcpBootstrap>> b = TcpBootstrap::connect(o);
    if (!b.ok()) return b.status();
    return body ? body(**b) : ok_status();
  });
}

Status rounds_of_allgather(TcpBootstrap& b, int rounds) {
  for (int round = 0; round < rounds; ++round) {
    FB_TRY_ASSIGN(std::vector<Bytes> all, b.allgather(contribution(b.rank(), round)));
    if (static_cast<int>(all.size()) != b.size()) return wrong_data("wrong number of ranks");
    for (int peer = 0; peer < b.size(); ++peer)
      if (all[peer] != contribution(peer, round)) return wrong_data("wrong bytes from a peer");
    FB_TRY(b.barrier());
  }
  return ok_status();
}

void expect_error(const Status& s, StatusCode code, std::initializer_list<std::string> needles) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), code) << s.message();
  for (const std::string& n : needles) EXPECT_THAT(s.message(), HasSubstr(n));
}

TEST(TcpBootstrap, FourRanksExchangeAndGroupByHost) {
  Job job(4);
  std::vector<std::future<Status>> ranks;
  std::vector<std::pair<int, int>> local(4);
  for (int r = 0; r < 4; ++r) {
    TcpBootstrapOptions o = job.options(r);
    o.hostname = r % 2 == 0 ? "hostA" : "hostB";
    ranks.push_back(start_rank(o, [&local](TcpBootstrap& b) -> Status {
      local[b.rank()] = {b.local_rank(), b.local_size()};
      if (b.kind() != "tcp" || b.size() != 4) return wrong_data("wrong identity");
      if (b.hostnames() != std::vector<std::string>{"hostA", "hostB", "hostA", "hostB"})
        return wrong_data("wrong hostnames");
      return rounds_of_allgather(b, 50);
    }));
  }
  for (auto& f : ranks) {
    const Status s = f.get();
    EXPECT_TRUE(s.ok()) << s.message();
  }
  EXPECT_EQ(local, (std::vector<std::pair<int, int>>{{0, 2}, {0, 2}, {1, 2}, {1, 2}}));
}

TEST(TcpBootstrap, MembersMayStartBeforeRankZero) {
  Job job(3);
  std::vector<std::future<Status>> ranks;
  for (int r = 1; r < 3; ++r) ranks.push_back(start_rank(job.options(r), [](TcpBootstrap& b) {
    return rounds_of_allgather(b, 3);
  }));
  std::this_thread::sleep_for(milliseconds(300));
  ranks.push_back(start_rank(job.options(0), [](TcpBootstrap& b) { return rounds_of_allgather(b, 3); }));
  for (auto& f : ranks) {
    const Status s = f.get();
    EXPECT_TRUE(s.ok()) << s.message();
  }
}

TEST(TcpBootstrap, SingleRankJob) {
  Job job(1);
  Expected<std::unique_ptr<TcpBootstrap>> b = TcpBootstrap::connect(job.options(0));
  ASSERT_TRUE(b.ok()) << b.status().message();
  Expected<std::vector<Bytes>> all = (*b)->allgather(contribution(0, 1));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, std::vector<Bytes>{contribution(0, 1)});
  EXPECT_EQ((*b)->local_size(), 1);
}

TEST(TcpBootstrap, WrongTokenIsRefusedAndTheJobCompletes) {
  Job job(3);
  auto rank0 = start_rank(job.options(0), [](TcpBootstrap& b) { return rounds_of_allgather(b, 2); });
  auto rank1 = start_rank(job.options(1), [](TcpBootstrap& b) { return rounds_of_allgather(b, 2); });
  // The job cannot finish joining before rank 2 does, so rank 0 is still admitting now.
  TcpBootstrapOptions stranger = job.options(2);
  stranger.token = "some-other-job";
  expect_error(start_rank(stranger).get(), StatusCode::kProtocol,
               {"rank 2: bootstrap rank 0 refused this rank: wrong job token"});
  auto rank2 = start_rank(job.options(2), [](TcpBootstrap& b) { return rounds_of_allgather(b, 2); });
  for (auto* f : {&rank0, &rank1, &rank2}) {
    const Status s = f->get();
    EXPECT_TRUE(s.ok()) << s.message();
  }
  EXPECT_THAT(job.log(), HasSubstr("(claiming rank 2): wrong job token"));
}

TEST(TcpBootstrap, WrongSizeIsRefused) {
  Job job(2);
  auto rank0 = start_rank(job.options(0));
  TcpBootstrapOptions other = job.options(1);
  other.size = 3;
  expect_error(start_rank(other).get(), StatusCode::kProtocol,
               {"refused this rank: wrong job size: rank 0 runs a job of 2 ranks, this rank was "
                "started with --size 3"});
  auto rank1 = start_rank(job.options(1));
  EXPECT_TRUE(rank0.get().ok());
  EXPECT_TRUE(rank1.get().ok());
}

// Sends a hello by hand, for hellos TcpBootstrap itself would never send.
std::string refusal_for(const Job& job, const Hello& hello) {
  Expected<UniqueFd> fd = connect_tcp_with_retry("127.0.0.1", job.port(), Deadline::after(milliseconds(10000)));
  if (!fd.ok()) return "connect failed: " + fd.status().message();
  if (!send_frame(fd->get(), FrameType::kHello, encode_hello(hello), Deadline::after(milliseconds(5000))).ok())
    return "send failed";
  Expected<Frame> reply = recv_frame(fd->get(), Deadline::after(milliseconds(5000)));
  if (!reply.ok() || reply->type != FrameType::kRefuse) return "not refused";
  ByteReader r(reply->payload);
  std::string reason;
  return r.string(reason) ? reason : "unreadable reason";
}

TEST(TcpBootstrap, MalformedHellosAreRefused) {
  Job job(2);
  auto rank0 = start_rank(job.options(0));
  const Hello good{kHelloMagic, kTcpProtocolVersion, 1, 2, "job-token", "h"};
  Hello h = good;
  h.magic = 1;
  EXPECT_EQ(refusal_for(job, h), "this is not a fabricbench bootstrap hello");
  h = good;
  h.version = 2;
  EXPECT_THAT(refusal_for(job, h), HasSubstr("protocol version 2 is not version 1"));
  h = good;
  h.rank = 5;
  EXPECT_EQ(refusal_for(job, h), "rank 5 is out of range for a job of 2 ranks");
  h = good;
  h.rank = 0;
  EXPECT_THAT(refusal_for(job, h), HasSubstr("rank 0 is already running"));
  auto rank1 = start_rank(job.options(1));
  EXPECT_TRUE(rank0.get().ok());
  EXPECT_TRUE(rank1.get().ok());
}

TEST(TcpBootstrap, DuplicateRankIsRefused) {
  Job job(3);
  auto rank0 = start_rank(job.options(0), [](TcpBootstrap& b) { return rounds_of_allgather(b, 2); });
  auto first = start_rank(job.options(1), [](TcpBootstrap& b) { return rounds_of_allgather(b, 2); });
  auto second = start_rank(job.options(1), [](TcpBootstrap& b) { return rounds_of_allgather(b, 2); });
  // Until rank 2 joins, only a refusal can end either of them.
  const auto refused_one = [&]() -> std::future<Status>* {
    for (;;) {
      if (first.wait_for(milliseconds(10)) == std::future_status::ready) return &first;
      if (second.wait_for(milliseconds(10)) == std::future_status::ready) return &second;
    }
  }();
  std::future<Status>* admitted = refused_one == &first ? &second : &first;
  expect_error(refused_one->get(), StatusCode::kProtocol,
               {"refused this rank: rank 1 has already joined; was another process started with --rank 1?"});
  auto rank2 = start_rank(job.options(2), [](TcpBootstrap& b) { return rounds_of_allgather(b, 2); });
  for (auto* f : {&rank0, admitted, &rank2}) {
    const Status s = f->get();
    EXPECT_TRUE(s.ok()) << s.message();
  }
}

TEST(TcpBootstrap, UnreachableRankZero) {
  Job job(2, milliseconds(500));
  const auto start = Clock::now();
  const Status s = start_rank(job.options(1)).get();
  const auto took = Clock::now() - start;
  expect_error(s, StatusCode::kUnavailable,
               {"rank 1: could not reach bootstrap rank 0 at " + job.address() +
                " within 500 ms: Connection refused; is rank 0 running?"});
  EXPECT_GE(took, milliseconds(500));
  EXPECT_LT(took, milliseconds(5000));
}

TEST(TcpBootstrap, RankZeroNamesRanksThatNeverJoined) {
  Job job(3, milliseconds(1000));
  auto rank0 = start_rank(job.options(0));
  auto rank1 = start_rank(job.options(1));
  const std::string missing = "bootstrap rank 0 at " + job.address() + ": rank(s) 2 did not join within 1 s";
  expect_error(rank0.get(), StatusCode::kTimeout, {missing});
  expect_error(rank1.get(), StatusCode::kTimeout, {"rank 1: could not join the job: " + missing});
}

TEST(TcpBootstrap, KilledMemberIsNamedToTheOthers) {
  Job job(4);
  // Forked before any thread starts, so the child inherits no locks.
  const pid_t victim = ::fork();
  if (victim == 0) {
    Expected<std::unique_ptr<TcpBootstrap>> b = TcpBootstrap::connect(job.options(2));
    if (b.ok() && (*b)->barrier().ok()) ::raise(SIGKILL);
    ::_exit(1);
  }
  ASSERT_GT(victim, 0);
  std::vector<std::future<Status>> ranks;
  for (int r : {0, 1, 3}) ranks.push_back(start_rank(job.options(r), [](TcpBootstrap& b) -> Status {
    FB_TRY(b.barrier());
    return b.barrier();
  }));
  for (auto& f : ranks)
    expect_error(f.get(), StatusCode::kPeerFailed,
                 {"rank 2 (host ", "closed its connection to bootstrap rank 0", "before joining bootstrap exchange 2"});
  int status = 0;
  ASSERT_EQ(::waitpid(victim, &status, 0), victim);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the victim did not get to die";
}

TEST(TcpBootstrap, MembersNoticeRankZeroVanishing) {
  Job job(3);
  auto rank0 = start_rank(job.options(0), [](TcpBootstrap& b) { return b.barrier(); });
  std::vector<std::future<Status>> members;
  for (int r : {1, 2}) members.push_back(start_rank(job.options(r), [](TcpBootstrap& b) -> Status {
    FB_TRY(b.barrier());
    return b.barrier();
  }));
  EXPECT_TRUE(rank0.get().ok());
  for (auto& f : members)
    expect_error(f.get(), StatusCode::kPeerFailed, {"lost connection to bootstrap rank 0 at " + job.address()});
}

TEST(TcpBootstrap, HungMemberTimesOutTheOthers) {
  const milliseconds timeout(1000);
  Job job(3);
  const auto exchange_with_timeout = [timeout](TcpBootstrap& b) -> Status {
    b.set_timeout(timeout);
    if (b.rank() == 2) std::this_thread::sleep_for(2 * timeout);
    return b.barrier();
  };
  const auto start = Clock::now();
  std::vector<std::future<Status>> ranks;
  for (int r = 0; r < 3; ++r) ranks.push_back(start_rank(job.options(r), exchange_with_timeout));
  for (int r = 0; r < 2; ++r)
    expect_error(ranks[r].get(), StatusCode::kTimeout,
                 {"bootstrap exchange 1 timed out after 1000 ms waiting for ", "rank 2 (host "});
  EXPECT_LT(Clock::now() - start, milliseconds(2000) + kHubGrace);
  EXPECT_FALSE(ranks[2].get().ok());
}

TEST(TcpBootstrap, PortInUseIsReported) {
  Job job(2);
  Expected<UniqueFd> squatter = listen_tcp("127.0.0.1", job.port(), 1);
  ASSERT_TRUE(squatter.ok()) << squatter.status().message();
  expect_error(start_rank(job.options(0)).get(), StatusCode::kUnavailable,
               {"bootstrap rank 0 cannot listen on " + job.address() + ": Address already in use"});
}

TEST(TcpBootstrap, RankZeroNamedByHostnameListensOnEveryAddress) {
  Job job(2);
  TcpBootstrapOptions root = job.options(0);
  root.host = this_hostname();
  auto rank0 = start_rank(root, [](TcpBootstrap& b) { return b.barrier(); });
  auto rank1 = start_rank(job.options(1), [](TcpBootstrap& b) { return b.barrier(); });
  for (auto* f : {&rank0, &rank1}) {
    const Status s = f->get();
    EXPECT_TRUE(s.ok()) << s.message();
  }
}

TEST(TcpBootstrap, ConnectFromResolvedConfig) {
  Job job(2);
  std::vector<std::future<Status>> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.push_back(std::async(std::launch::async, [&job, r]() -> Status {
      BootstrapConfig c;
      c.kind = "tcp";
      c.host = "127.0.0.1";
      c.port = job.port();
      c.rank = r;
      c.size = 2;
      c.timeout = milliseconds(20000);
      FB_TRY_ASSIGN(std::unique_ptr<Bootstrap> b, connect_tcp_bootstrap(c));
      FB_TRY_ASSIGN(std::vector<int> ranks, allgather_value(*b, b->rank()));
      return ranks == std::vector<int>{0, 1} ? ok_status() : wrong_data("wrong ranks");
    }));
  }
  for (auto& f : ranks) {
    const Status s = f.get();
    EXPECT_TRUE(s.ok()) << s.message();
  }
  BootstrapConfig local;
  EXPECT_EQ(connect_tcp_bootstrap(local).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fb
