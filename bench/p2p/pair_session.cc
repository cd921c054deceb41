#include "p2p/pair_session.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace fb {
namespace {

constexpr uint32_t kDataTag = 1;
constexpr uint32_t kControlTag = 2;
constexpr uint64_t kMaxDerivedIterations = 100'000'000;
constexpr unsigned kSpinsPerClockRead = 256;

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Never zero, so a freshly cleared flag byte cannot look like a delivered one.
uint8_t next_sequence(uint8_t s) { return s == 255 ? 1 : s + 1; }

}  // namespace

PairSession::PairSession(Context& context, Endpoint& peer, bool initiator, PairBuffers buffers,
                         std::chrono::milliseconds timeout)
    : context_(context), peer_(peer), initiator_(initiator), buffers_(buffers), timeout_(timeout) {}

Status PairSession::wait_for(Request& request, Clock::time_point now, const char* what) {
  if (request.completed()) return {};
  return wait(context_, request, Deadline::after(now, timeout_), what);
}

Status PairSession::wait_for_byte(volatile std::byte* where, std::byte value, Clock::time_point now) {
  const Deadline deadline = Deadline::after(now, timeout_);
  for (unsigned spin = 1; *where != value; ++spin) {
    FB_TRY(context_.progress());
    if (spin % kSpinsPerClockRead == 0 && deadline.expired())
      return Status::error(StatusCode::kTimeout,
                           "rank " + std::to_string(context_.rank()) + ": no put from rank " +
                               std::to_string(peer_.peer()) + " within " + std::to_string(timeout_.count()) +
                               " ms (is the peer alive?)", FB_HERE);
  }
  return {};
}

Status PairSession::send_control(uint64_t value) {
  FB_TRY_ASSIGN(Request request, peer_.send(&value, sizeof(value), kControlTag));
  return wait_for(request, Clock::now(), "control message");
}

Expected<uint64_t> PairSession::recv_control() {
  uint64_t value = 0;
  FB_TRY_ASSIGN(Request request, peer_.recv(&value, sizeof(value), kControlTag));
  FB_TRY(wait_for(request, Clock::now(), "control message"));
  return value;
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
  Clock::time_point last = Clock::now();
  for (uint64_t i = 0; i < iterations; ++i) {
    if (initiator_) {
      FB_TRY_ASSIGN(Request r, peer_.recv(in, bytes, kDataTag));
      FB_TRY_ASSIGN(Request s, peer_.send(out, bytes, kDataTag));
      FB_TRY(wait_for(s, last, "send"));
      FB_TRY(wait_for(r, last, "receive of the reply"));
      if constexpr (kTimed) {
        const Clock::time_point now = Clock::now();
        m->samples_us.push_back(micros(now - last) / 2);
        last = now;
      }
    } else {
      FB_TRY_ASSIGN(Request r, peer_.recv(in, bytes, kDataTag));
      FB_TRY(wait_for(r, last, "receive"));
      FB_TRY_ASSIGN(Request s, peer_.send(out, bytes, kDataTag));
      FB_TRY(wait_for(s, last, "send of the reply"));
      if constexpr (kTimed) last = Clock::now();
    }
  }
  return {};
}

template <bool kTimed>
Status PairSession::pingpong_put(uint64_t bytes, uint64_t iterations, RankMeasurement* m) {
  std::byte* out = buffers_.send->bytes();
  volatile std::byte* flag = buffers_.recv->bytes() + bytes - 1;
  Clock::time_point last = Clock::now();
  for (uint64_t i = 0; i < iterations; ++i) {
    sequence_ = next_sequence(sequence_);
    const std::byte expected{sequence_};
    if (!initiator_) FB_TRY(wait_for_byte(flag, expected, last));
    out[bytes - 1] = expected;
    FB_TRY_ASSIGN(Request put, peer_.put(out, bytes, *buffers_.send_region, *buffers_.peer_recv, 0));
    FB_TRY(wait_for(put, last, "put"));
    if (initiator_) {
      FB_TRY(wait_for_byte(flag, expected, last));
      if constexpr (kTimed) {
        const Clock::time_point now = Clock::now();
        m->samples_us.push_back(micros(now - last) / 2);
        last = now;
      }
    } else if constexpr (kTimed) {
      last = Clock::now();
    }
  }
  return {};
}

template <bool kTimed>
Status PairSession::get_latency(uint64_t bytes, uint64_t iterations, RankMeasurement* m) {
  if (!initiator_) return recv_control().status();  // stays passive until the reader is done
  void* in = buffers_.recv->data();
  Clock::time_point last = Clock::now();
  for (uint64_t i = 0; i < iterations; ++i) {
    FB_TRY_ASSIGN(Request get, peer_.get(in, bytes, *buffers_.recv_region, *buffers_.peer_send, 0));
    FB_TRY(wait_for(get, last, "get"));
    if constexpr (kTimed) {
      const Clock::time_point now = Clock::now();
      m->samples_us.push_back(micros(now - last));  // one get is a full round trip
      last = now;
    }
  }
  return send_control(0);
}

// bw/bibw/msgrate: `window` operations outstanding per step, then a final handshake so the
// sender's clock includes the receiver having everything.
template <bool kTimed>
Status PairSession::stream(const SizeRun& run, uint64_t windows, RankMeasurement* m) {
  const bool bidirectional = run.test == P2pTest::kBibw;
  const bool sends = initiator_ || bidirectional;
  const bool receives = !initiator_ || bidirectional;
  const size_t window = static_cast<size_t>(run.window);
  void* out = buffers_.send->data();
  void* in = buffers_.recv->data();
  const bool one_sided = run.op != P2pOp::kSend;
  Clock::time_point last = Clock::now();
  for (uint64_t w = 0; w < windows; ++w) {
    requests_.clear();
    if (run.op == P2pOp::kSend) {
      if (receives)
        for (size_t k = 0; k < window; ++k) {
          FB_TRY_ASSIGN(Request r, peer_.recv(in, run.bytes, kDataTag));
          requests_.push_back(r);
        }
      if (sends)
        for (size_t k = 0; k < window; ++k) {
          FB_TRY_ASSIGN(Request s, peer_.send(out, run.bytes, kDataTag));
          requests_.push_back(s);
        }
    } else if (sends) {
      for (size_t k = 0; k < window; ++k) {
        if (run.op == P2pOp::kPut) {
          FB_TRY_ASSIGN(Request p, peer_.put(out, run.bytes, *buffers_.send_region, *buffers_.peer_recv, 0));
          requests_.push_back(p);
        } else {
          FB_TRY_ASSIGN(Request g, peer_.get(in, run.bytes, *buffers_.recv_region, *buffers_.peer_send, 0));
          requests_.push_back(g);
        }
      }
      if (run.op == P2pOp::kPut) {
        FB_TRY_ASSIGN(Request f, peer_.flush());
        requests_.push_back(f);
      }
    }
    for (Request& r : requests_) FB_TRY(wait_for(r, last, "windowed transfer"));
    if constexpr (kTimed) {
      const Clock::time_point now = Clock::now();
      if (sends) m->samples_us.push_back(micros(now - last));
      last = now;
    }
    // One-sided receivers have nothing to post: they wait for the final handshake below.
    if (one_sided && !sends) break;
  }
  // Two-sided: the receiver confirms it has everything. One-sided: the initiator, whose
  // flush already saw remote completion, tells the passive side it is done.
  if (bidirectional) return exchange_control(initiator_);
  if (one_sided) return initiator_ ? send_control(0) : recv_control().status();
  return initiator_ ? recv_control().status() : send_control(0);
}

Status PairSession::run_phase(const SizeRun& run, uint64_t iterations, RankMeasurement* timed) {
  const bool latency = run.test == P2pTest::kLatency;
  if (latency && run.op == P2pOp::kSend)
    return timed ? pingpong_send<true>(run.bytes, iterations, timed) : pingpong_send<false>(run.bytes, iterations, nullptr);
  if (latency && run.op == P2pOp::kPut)
    return timed ? pingpong_put<true>(run.bytes, iterations, timed) : pingpong_put<false>(run.bytes, iterations, nullptr);
  if (latency)
    return timed ? get_latency<true>(run.bytes, iterations, timed) : get_latency<false>(run.bytes, iterations, nullptr);
  return timed ? stream<true>(run, iterations, timed) : stream<false>(run, iterations, nullptr);
}

// The initiator decides how many timed iterations fit in --duration from the warm-up pace and
// tells the responder, so both run the same count.
Expected<uint64_t> PairSession::agree_on_iterations(const SizeRun& run, double warmup_seconds) {
  if (!initiator_) return recv_control();
  uint64_t iterations = run.iterations;
  if (iterations == 0) {
    const double per_iteration = warmup_seconds / static_cast<double>(std::max<uint64_t>(run.warmup, 1));
    const double wanted = per_iteration > 0 ? run.duration_s / per_iteration : 1.0;
    iterations = static_cast<uint64_t>(std::clamp(std::ceil(wanted), 1.0, double(kMaxDerivedIterations)));
  }
  FB_TRY(send_control(iterations));
  return iterations;
}

Expected<RankMeasurement> PairSession::run(const SizeRun& run) {
  if (run.op == P2pOp::kPut && run.test == P2pTest::kLatency)
    std::memset(buffers_.recv->bytes() + run.bytes - 1, 0, 1);
  FB_TRY(exchange_control(initiator_));

  const Clock::time_point warm_start = Clock::now();
  FB_TRY(run_phase(run, run.warmup, nullptr));
  const double warm_seconds = seconds(Clock::now() - warm_start);
  FB_TRY_ASSIGN(const uint64_t iterations, agree_on_iterations(run, warm_seconds));

  RankMeasurement m;
  m.iterations = iterations;
  m.warmup = run.warmup;
  m.samples_us.reserve(iterations);
  const Clock::time_point start = Clock::now();
  FB_TRY(run_phase(run, iterations, &m));
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
