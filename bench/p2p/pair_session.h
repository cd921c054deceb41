// The timed loops of the point-to-point benchmark between one initiator and its responder.
// They only move data and read the clock; statistics and reporting happen afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fabricbench/transport/transport.h"
#include "plan.h"
#include "runner/sample_clock.h"

namespace fb {

// What one rank measured for one (test, op, size).
struct RankMeasurement {
  std::vector<double> samples_us;
  std::string sample_unit;
  uint64_t iterations = 0;
  uint64_t warmup = 0;
  double elapsed_s = 0;      // timed part, including the final handshake
  uint64_t bytes_sent = 0;   // payload this rank pushed (or pulled, for get)
  uint64_t messages = 0;     // operations this rank issued
};

struct PairBuffers {
  Buffer* send = nullptr;
  Buffer* recv = nullptr;
  MemRegion* send_region = nullptr;
  MemRegion* recv_region = nullptr;
  const RemoteRegion* peer_send = nullptr;  // the peer's send buffer (get reads it)
  const RemoteRegion* peer_recv = nullptr;  // the peer's receive buffer (put writes it)
};

struct SizeRun {
  P2pTest test;
  P2pOp op;
  uint64_t bytes;
  uint64_t warmup;
  uint64_t iterations;  // 0: derive from duration_s after warm-up (initiator decides)
  double duration_s;
  int window;
  bool imm = false;  // put as put_imm; the target waits for notifications
};

class PairSession {
 public:
  PairSession(Context& context, Endpoint& peer, bool initiator, PairBuffers buffers,
              std::chrono::milliseconds timeout);

  Expected<RankMeasurement> run(const SizeRun& run);

 private:
  template <bool kTimed>
  Status pingpong_send(uint64_t bytes, uint64_t iterations, RankMeasurement* m);
  template <bool kTimed>
  Status pingpong_put(uint64_t bytes, uint64_t iterations, RankMeasurement* m);
  template <bool kTimed>
  Status pingpong_put_imm(uint64_t bytes, uint64_t iterations, RankMeasurement* m);
  template <bool kTimed>
  Status get_latency(uint64_t bytes, uint64_t iterations, RankMeasurement* m);
  template <bool kTimed>
  Status stream(const SizeRun& run, uint64_t windows, RankMeasurement* m);

  Status run_phase(const SizeRun& run, uint64_t iterations, RankMeasurement* timed);
  Expected<uint64_t> agree_on_iterations(const SizeRun& run);
  Expected<uint64_t> run_for_duration(const SizeRun& run, double warmup_seconds, RankMeasurement* m);
  Status exchange_control(bool send_first);
  Status wait_for(Request& request, const char* what);
  Status wait_for_byte(volatile std::byte* where, std::byte value);
  Status send_control(uint64_t value);
  Expected<uint64_t> recv_control();
  Status recv_control_passively();

  Context& context_;
  Endpoint& peer_;
  const bool initiator_;
  PairBuffers buffers_;
  const std::chrono::milliseconds timeout_;
  Expected<Request> issue(const SizeRun& run);

  std::vector<Request> issued_;  // sliding-window slots: sends, puts or gets
  std::vector<Request> posted_;  // sliding-window slots: receives
  const SampleClock& clock_;
  uint8_t sequence_ = 0;
  uint32_t imm_scratch_ = 0;  // where stream()'s notifications land (only their arrival counts)
};

}  // namespace fb
