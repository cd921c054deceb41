#include "p2p/pair_session.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

namespace fb {
namespace {

constexpr uint32_t kDataTag = 1;
constexpr uint32_t kControlTag = 2;
constexpr uint64_t kMaxDerivedIterations = 100'000'000;
constexpr unsigned kSpinsPerClockRead = 256;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Never zero, so a freshly cleared flag byte cannot look like a delivered one.
uint8_t next_sequence(uint8_t s) { return s == 255 ? 1 : s + 1; }

}  // namespace

PairSession::PairSession(Context& context, Endpoint& peer, bool initiator, PairBuffers buffers,
                         std::chrono::milliseconds timeout)
    : context_(context),
      peer_(peer),
      initiator_(initiator),
      buffers_(buffers),
      timeout_(timeout),
      clock_(SampleClock::instance()) {}

Status PairSession::wait_for(Request& request, const char* what) {
  if (request.completed()) return {};
  return wait(context_, request, timeout_, what);
}

// The deadline starts only once the wait gets long, so quick arrivals read no clock.
Status PairSession::wait_for_byte(volatile std::byte* where, std::byte value) {
  std::optional<Deadline> deadline;
  for (unsigned spin = 1; *where != value; ++spin) {
    FB_TRY(context_.progress());
    if (spin % kSpinsPerClockRead != 0) continue;
    if (!deadline) deadline = Deadline::after(timeout_);
    if (deadline->expired())
      return Status::error(StatusCode::kTimeout,
                           "rank " + std::to_string(context_.rank()) + ": no put from rank " +
                               std::to_string(peer_.peer()) + " within " + std::to_string(timeout_.count()) +
                               " ms (is the peer alive?)", FB_HERE);
  }
  return {};
}

Status PairSession::send_control(uint64_t value) {
  FB_TRY_ASSIGN(Request request, peer_.send(&value, sizeof(value), kControlTag));
  return wait_for(request, "control message");
}

Expected<uint64_t> PairSession::recv_control() {
  uint64_t value = 0;
  FB_TRY_ASSIGN(Request request, peer_.recv(&value, sizeof(value), kControlTag));
  FB_TRY(wait_for(request, "control message"));
  return value;
}

// The target of one-sided transfers has nothing to do until the initiator says it is done,
// so it sleeps whatever --progress asks: a rank spinning on its core takes CPU (and memory
// bandwidth) from the transfer it waits for, which shows wherever ranks share cores (soft-RoCE,
// oversubscribed hosts). perftest's server likewise sleeps in a TCP read. The initiator's
// timing does not include this rank's wake-up: its final send completes on the NIC's ACK.
Status PairSession::recv_control_passively() {
  uint64_t value = 0;
  FB_TRY_ASSIGN(Request request, peer_.recv(&value, sizeof(value), kControlTag));
  return wait_sleeping(context_, request, timeout_, "control message ending the one-sided transfer");
}

// Both sides are ready (flag bytes cleared, buffers in place) before either times anything.
Status PairSession::exchange_control(bool send_first) {
  if (send_first) {
    FB_TRY(send_control(0));
    return recv_control().status();
  }
  FB_TRY(recv_control().status());
  return send_control(0);
}

template <bool kTimed>
Status PairSession::pingpong_send(uint64_t bytes, uint64_t iterations, RankMeasurement* m) {
  void* out = buffers_.send->data();
  void* in = buffers_.recv->data();
  if (!initiator_) {
    for (uint64_t i = 0; i < iterations; ++i) {
      FB_TRY_ASSIGN(Request r, peer_.recv(in, bytes, kDataTag));
      FB_TRY(wait_for(r, "receive"));
      FB_TRY_ASSIGN(Request s, peer_.send(out, bytes, kDataTag));
      FB_TRY(wait_for(s, "send of the reply"));
    }
    return {};
  }
  SampleClock::Ticks last = clock_.now();
  for (uint64_t i = 0; i < iterations; ++i) {
    // Send first: posting the receive overlaps with the message in flight.
    FB_TRY_ASSIGN(Request s, peer_.send(out, bytes, kDataTag));
    FB_TRY_ASSIGN(Request r, peer_.recv(in, bytes, kDataTag));
    FB_TRY(wait_for(s, "send"));
    FB_TRY(wait_for(r, "receive of the reply"));
    if constexpr (kTimed) {
      const SampleClock::Ticks now = clock_.now();
      m->samples_us.push_back(clock_.to_us(now - last) / 2);
      last = now;
    }
  }
  return {};
}

template <bool kTimed>
Status PairSession::pingpong_put(uint64_t bytes, uint64_t iterations, RankMeasurement* m) {
  std::byte* out = buffers_.send->bytes();
  volatile std::byte* flag = buffers_.recv->bytes() + bytes - 1;
  SampleClock::Ticks last = clock_.now();
  for (uint64_t i = 0; i < iterations; ++i) {
    sequence_ = next_sequence(sequence_);
    const std::byte expected{sequence_};
    if (!initiator_) FB_TRY(wait_for_byte(flag, expected));
    out[bytes - 1] = expected;
    FB_TRY_ASSIGN(Request put, peer_.put(out, bytes, *buffers_.send_region, *buffers_.peer_recv, 0));
    FB_TRY(wait_for(put, "put"));
    if (!initiator_) continue;
    FB_TRY(wait_for_byte(flag, expected));
    if constexpr (kTimed) {
      const SampleClock::Ticks now = clock_.now();
      m->samples_us.push_back(clock_.to_us(now - last) / 2);
      last = now;
    }
  }
  return {};
}

// Ping-pong of puts with immediate data: each side waits for the notification of the other's
// put, which the target's NIC raises once the bytes are in memory, so no byte is polled. A
// put's own completion (its ACK) is not on the critical path: it is collected before the
// next put, by when the reply has long shown it arrived.
template <bool kTimed>
Status PairSession::pingpong_put_imm(uint64_t bytes, uint64_t iterations, RankMeasurement* m) {
  std::byte* out = buffers_.send->bytes();
  SampleClock::Ticks last = clock_.now();
  uint32_t arrived = 0;
  Request put;
  for (uint64_t i = 0; i < iterations; ++i) {
    const auto expected = static_cast<uint32_t>(i);
    FB_TRY_ASSIGN(Request notified, peer_.recv_imm(&arrived));
    if (!initiator_) FB_TRY(wait_for(notified, "put_imm notification"));
    FB_TRY(wait_for(put, "put_imm"));
    FB_TRY_ASSIGN(put, peer_.put_imm(out, bytes, *buffers_.send_region, *buffers_.peer_recv, 0, expected));
    if (initiator_) FB_TRY(wait_for(notified, "put_imm notification of the reply"));
    if (arrived != expected)
      return Status::error(StatusCode::kProtocol,
                           "put_imm notification " + std::to_string(i) + " from rank " + std::to_string(peer_.peer()) +
                               " carried " + std::to_string(arrived),
                           FB_HERE);
    if constexpr (kTimed) {
      if (initiator_) {
        const SampleClock::Ticks now = clock_.now();
        m->samples_us.push_back(clock_.to_us(now - last) / 2);
        last = now;
      }
    }
  }
  return wait_for(put, "put_imm");
}

template <bool kTimed>
Status PairSession::get_latency(uint64_t bytes, uint64_t iterations, RankMeasurement* m) {
  if (!initiator_) return recv_control_passively();  // stays passive until the reader is done
  void* in = buffers_.recv->data();
  SampleClock::Ticks last = clock_.now();
  for (uint64_t i = 0; i < iterations; ++i) {
    FB_TRY_ASSIGN(Request get, peer_.get(in, bytes, *buffers_.recv_region, *buffers_.peer_send, 0));
    FB_TRY(wait_for(get, "get"));
    if constexpr (kTimed) {
      const SampleClock::Ticks now = clock_.now();
      m->samples_us.push_back(clock_.to_us(now - last));  // one get is a full round trip
      last = now;
    }
  }
  return send_control(0);
}

// bw/bibw/msgrate: a sliding window, as ucx_perftest and perftest keep it: up to `window`
// operations in flight; each slot is reposted as soon as its previous operation completes.
// One sample per `window` operations posted. A final handshake puts the receiver's
// completion inside the timed interval.
template <bool kTimed>
Status PairSession::stream(const SizeRun& run, uint64_t windows, RankMeasurement* m) {
  const bool bidirectional = run.test == P2pTest::kBibw;
  const bool one_sided = run.op != P2pOp::kSend;
  const bool issues = initiator_ || bidirectional;
  // put_imm: the target takes each notification as a receive.
  const bool receives = (!one_sided || run.imm) && (!initiator_ || bidirectional);
  const size_t window = static_cast<size_t>(run.window);
  const uint64_t total = windows * window;
  issued_.assign(issues ? window : 0, Request{});
  posted_.assign(receives ? window : 0, Request{});
  SampleClock::Ticks last = clock_.now();
  for (uint64_t k = 0; k < total && (issues || receives); ++k) {
    const size_t slot = k % window;
    if (receives) {
      FB_TRY(wait_for(posted_[slot], "receive"));
      if (run.imm) {
        FB_TRY_ASSIGN(posted_[slot], peer_.recv_imm(&imm_scratch_));
      } else {
        FB_TRY_ASSIGN(posted_[slot], peer_.recv(buffers_.recv->data(), run.bytes, kDataTag));
      }
    }
    if (issues) {
      FB_TRY(wait_for(issued_[slot], "windowed transfer"));
      FB_TRY_ASSIGN(issued_[slot], issue(run));
    }
    if constexpr (kTimed) {
      if (issues && slot == window - 1) {
        const SampleClock::Ticks now = clock_.now();
        m->samples_us.push_back(clock_.to_us(now - last));
        last = now;
      }
    }
  }
  for (Request& r : posted_) FB_TRY(wait_for(r, "receive"));
  for (Request& r : issued_) FB_TRY(wait_for(r, "windowed transfer"));
  if (issues && run.op == P2pOp::kPut) {
    FB_TRY_ASSIGN(Request flushed, peer_.flush());
    FB_TRY(wait_for(flushed, "flush"));
  }
  // Two-sided: the receiver confirms it has everything. One-sided: the initiator, whose
  // flush already saw remote completion, tells the passive side it is done.
  if (bidirectional) return exchange_control(initiator_);
  if (one_sided && receives) return initiator_ ? send_control(0) : recv_control().status();
  if (one_sided) return initiator_ ? send_control(0) : recv_control_passively();
  return initiator_ ? recv_control().status() : send_control(0);
}

Expected<Request> PairSession::issue(const SizeRun& run) {
  switch (run.op) {
    case P2pOp::kSend: return peer_.send(buffers_.send->data(), run.bytes, kDataTag);
    case P2pOp::kPut:
      if (run.imm)
        return peer_.put_imm(buffers_.send->data(), run.bytes, *buffers_.send_region, *buffers_.peer_recv, 0, 0);
      return peer_.put(buffers_.send->data(), run.bytes, *buffers_.send_region, *buffers_.peer_recv, 0);
    case P2pOp::kGet:
      return peer_.get(buffers_.recv->data(), run.bytes, *buffers_.recv_region, *buffers_.peer_send, 0);
  }
  return Status::error(StatusCode::kInternal, "unknown operation", FB_HERE);
}

Status PairSession::run_phase(const SizeRun& run, uint64_t iterations, RankMeasurement* timed) {
  const bool latency = run.test == P2pTest::kLatency;
  if (latency && run.op == P2pOp::kSend)
    return timed ? pingpong_send<true>(run.bytes, iterations, timed) : pingpong_send<false>(run.bytes, iterations, nullptr);
  if (latency && run.op == P2pOp::kPut && run.imm)
    return timed ? pingpong_put_imm<true>(run.bytes, iterations, timed)
                 : pingpong_put_imm<false>(run.bytes, iterations, nullptr);
  if (latency && run.op == P2pOp::kPut)
    return timed ? pingpong_put<true>(run.bytes, iterations, timed) : pingpong_put<false>(run.bytes, iterations, nullptr);
  if (latency)
    return timed ? get_latency<true>(run.bytes, iterations, timed) : get_latency<false>(run.bytes, iterations, nullptr);
  return timed ? stream<true>(run, iterations, timed) : stream<false>(run, iterations, nullptr);
}

// --duration: the timed part runs in blocks; before each the initiator tells the responder how
// many iterations come next (0: done), from the pace so far, so the run ends on time even when
// the warm-up pace was far off (first touch of buffers, a congested link), and both sides run
// the same count. A block is at most a tenth of the duration, so the pace is corrected often.
Expected<uint64_t> PairSession::run_for_duration(const SizeRun& run, double warmup_seconds, RankMeasurement* m) {
  uint64_t done = 0;
  const Clock::time_point start = Clock::now();
  while (true) {
    uint64_t block = 0;
    if (initiator_) {
      const double elapsed = seconds(Clock::now() - start);
      const double per_iteration = done > 0 ? elapsed / static_cast<double>(done)
                                            : warmup_seconds / static_cast<double>(std::max<uint64_t>(run.warmup, 1));
      const double left = run.duration_s - elapsed;
      if (left > 0 && done < kMaxDerivedIterations) {
        const double wanted = per_iteration > 0 ? std::min(left, run.duration_s / 10) / per_iteration : 1.0;
        block = static_cast<uint64_t>(std::clamp(std::ceil(wanted), 1.0, double(kMaxDerivedIterations - done)));
      }
      FB_TRY(send_control(block));
    } else {
      FB_TRY_ASSIGN(block, recv_control());
    }
    if (block == 0) return done;
    FB_TRY(run_phase(run, block, m));
    done += block;
  }
}

// The initiator decides how many timed iterations to run (the count given) and tells the
// responder, so both run the same count.
Expected<uint64_t> PairSession::agree_on_iterations(const SizeRun& run) {
  if (!initiator_) return recv_control();
  FB_TRY(send_control(run.iterations));
  return run.iterations;
}

Expected<RankMeasurement> PairSession::run(const SizeRun& run) {
  if (run.op == P2pOp::kPut && run.test == P2pTest::kLatency && !run.imm)
    std::memset(buffers_.recv->bytes() + run.bytes - 1, 0, 1);
  FB_TRY(exchange_control(initiator_));

  const Clock::time_point warm_start = Clock::now();
  FB_TRY(run_phase(run, run.warmup, nullptr));
  const double warm_seconds = seconds(Clock::now() - warm_start);

  RankMeasurement m;
  m.warmup = run.warmup;
  const Clock::time_point start = Clock::now();
  uint64_t iterations = 0;
  if (run.iterations > 0) {
    FB_TRY_ASSIGN(iterations, agree_on_iterations(run));
    m.samples_us.reserve(iterations);
    FB_TRY(run_phase(run, iterations, &m));
  } else {
    FB_TRY_ASSIGN(iterations, run_for_duration(run, warm_seconds, &m));
  }
  m.iterations = iterations;
  m.elapsed_s = seconds(Clock::now() - start);

  const bool latency = run.test == P2pTest::kLatency;
  const bool issues = initiator_ || run.test == P2pTest::kBibw;
  const uint64_t per_iteration = latency ? 1 : static_cast<uint64_t>(run.window);
  if (issues || (latency && run.op != P2pOp::kGet)) {
    m.messages = iterations * per_iteration;
    m.bytes_sent = m.messages * run.bytes;
  }
  if (latency)
    m.sample_unit = run.op == P2pOp::kGet ? "get completion time" : "one-way latency (round trip / 2)";
  else
    m.sample_unit = "window of " + std::to_string(run.window) + " operations";
  return m;
}

}  // namespace fb
