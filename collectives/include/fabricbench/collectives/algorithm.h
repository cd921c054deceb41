// What a collective algorithm sees: a Communicator (the transport's endpoints, non-blocking
// send/recv on one tag, explicit progress, the reduce kernel for the buffers' memory kind) and
// the invocation's shape and buffers. Algorithms register themselves by name per collective
// (FB_REGISTER_ALGORITHM, one file each under collectives/algorithms/); nothing above them
// knows the list. No UCX, verbs or CUDA header here or in any algorithm.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fabricbench/collectives/datatype.h"
#include "fabricbench/collectives/reduce.h"
#include "fabricbench/transport/transport.h"

namespace fb {

enum class CollectiveKind { kAllReduce, kAllGather, kReduceScatter, kAllToAll };

inline constexpr std::array kAllCollectiveKinds{CollectiveKind::kAllReduce, CollectiveKind::kAllGather,
                                                CollectiveKind::kReduceScatter, CollectiveKind::kAllToAll};

std::string_view to_string(CollectiveKind kind);  // "allreduce", "allgather", "reducescatter", "alltoall"
Expected<CollectiveKind> parse_collective_kind(std::string_view text);

// One invocation, in nccl-tests terms: `count` is the element count of the whole buffer and a
// multiple of `ranks` (the caller rounds down); a block is count / ranks elements. Element
// counts of the buffers:
//   all-reduce      input count, output count (output == input is in place)
//   all-gather      input block, output count (input == output's block `rank` is in place)
//   reduce-scatter  input count, output block (rank r gets the reduction of every block r)
//   all-to-all      input count, output count (block j of input goes to rank j and lands as
//                   block `rank` of rank j's output)
// `op` matters to all-reduce and reduce-scatter only. count 0 is a valid no-op.
struct CollectiveShape {
  CollectiveKind kind = CollectiveKind::kAllReduce;
  DataType dtype = DataType::kFloat32;
  ReduceOp op = ReduceOp::kSum;
  int ranks = 1;
  size_t count = 0;

  size_t block() const { return count / static_cast<size_t>(ranks); }
  size_t element_bytes() const { return element_size(dtype); }
  size_t input_count() const;
  size_t output_count() const;
  size_t input_bytes() const { return input_count() * element_bytes(); }
  size_t output_bytes() const { return output_count() * element_bytes(); }
};

// Input and output (at least input_bytes() / output_bytes(), same memory kind) and scratch of
// at least the algorithm's scratch_bytes(shape), which the caller allocates once outside the
// timed loop. Apart from the in-place forms above, the three must not overlap; an algorithm
// never writes its input.
struct CollectiveBuffers {
  std::span<const std::byte> input;
  std::span<std::byte> output;
  std::span<std::byte> scratch;
};

struct CommunicatorOptions {
  // Transfers are cut into chunks of this many bytes (rounded down to a multiple of 8, the
  // largest element), so that a reduction overlaps the transfer of the next chunk. Every rank
  // must use the same value: receives are posted chunk by chunk and match the peer's sends in
  // order (a mismatch shows as a truncated receive or a timeout, not as wrong data).
  size_t chunk_bytes = size_t{256} << 10;
  // Chunks in flight per direction within one step; a step with more posts the rest as
  // earlier ones complete. Request slots for them are allocated once, here.
  size_t window = 64;
  // The one tag every collective message uses; keep it apart from the benchmark's own tags.
  uint32_t tag = 0xc0110000u;
  // Longest wait for any one transfer; zero takes the transport's TransportOptions::timeout.
  std::chrono::milliseconds timeout{0};
};

// A rank's view of the job for collectives: one per rank, one collective at a time, movable.
// Endpoints are connected on first use (run a warm-up invocation before timing) and kept.
// After a collective fails, neither it nor the transport context may be used again: the
// failed step's other requests may still be in flight.
//
// Message matching: every message is sent on options.tag, and the transports match messages
// between one pair of ranks in posting order. So an algorithm is correct as long as, for each
// ordered pair (a -> b), the sequence of messages a sends to b equals the sequence of receives
// b posts from a (same order, same sizes): every algorithm states why this holds for it.
// Consecutive invocations then cannot mix, provided every rank runs the same collectives with
// the same shapes and options in the same order.
class Communicator {
 public:
  static constexpr int kNoPeer = -1;

  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  Communicator(Communicator&&) = default;
  Communicator& operator=(Communicator&&) = default;

  // Up to two byte ranges moved back to back as one transfer (a run of blocks that wraps
  // around the end of a buffer).
  template <typename Byte>
  struct Parts {
    std::array<std::span<Byte>, 2> part{};
    Parts() = default;
    template <typename B>
      requires std::is_convertible_v<B*, Byte*>
    Parts(std::span<B> only) : part{only, {}} {}  // NOLINT: implicit by design
    template <typename B>
      requires std::is_convertible_v<B*, Byte*>
    Parts(std::span<B> first, std::span<B> second) : part{first, second} {}
    size_t bytes() const { return part[0].size() + part[1].size(); }
  };
  using SendParts = Parts<const std::byte>;
  using RecvParts = Parts<std::byte>;

  // After each received chunk lands: out[i] = op(a[i], b[i]) over that chunk's bytes, at the
  // chunk's offset within the (single-part) receive; `a` or `b` is normally the receive buffer
  // itself and `out` may equal either.
  struct ReduceEach {
    std::byte* out;
    const std::byte* a;
    const std::byte* b;
    DataType dtype;
    ReduceOp op;
  };

  static Expected<Communicator> create(Context& transport, const ReduceKernel& kernel,
                                       CommunicatorOptions options = {});
  // With the registered kernel for buffers of `memory` (reduce_kernel_for).
  static Expected<Communicator> create(Context& transport, MemoryKind memory,
                                       CommunicatorOptions options = {});

  int rank() const { return rank_; }
  int size() const { return size_; }
  Context& transport() const { return *transport_; }
  const ReduceKernel& kernel() const { return *kernel_; }
  const CommunicatorOptions& options() const { return options_; }
  size_t chunk_bytes() const { return options_.chunk_bytes; }

  // One step of an algorithm: sends `out` to rank `to` while receiving `in` from rank `from`
  // (kNoPeer leaves that side out), chunk by chunk with up to `window` chunks in flight each
  // way, and returns when both are complete. With `reduce`, chunk i of the receive is reduced
  // as soon as it lands and only after sends 0..i completed, so when the send and the receive
  // cover the same bytes (recursive doubling) `reduce.out` may be the buffer being sent: each
  // chunk goes out before it is overwritten. Both sides of a pair cut the same ranges into the
  // same chunks (chunk_bytes, a multiple of 8 bytes, from the start of each part), so every
  // chunk boundary is an element boundary. Buffers must be aligned to the element size.
  Status exchange(int to, SendParts out, int from, RecvParts in) const;
  Status exchange(int to, SendParts out, int from, std::span<std::byte> in, const ReduceEach& reduce) const;
  Status send(int to, SendParts out) const { return exchange(to, out, kNoPeer, RecvParts{}); }
  Status recv(int from, RecvParts in) const { return exchange(kNoPeer, SendParts{}, from, in); }

  // Copies between two buffers of the collective's memory kind, through the reduce kernel (a
  // device kernel copies on the device).
  Status copy(std::byte* to, const std::byte* from, size_t bytes) const;

 private:
  Communicator(Context& transport, const ReduceKernel& kernel, CommunicatorOptions options);
  Expected<Endpoint*> endpoint(int peer) const;
  Status step(int to, const SendParts& out, int from, const RecvParts& in, const ReduceEach* reduce) const;

  Context* transport_;
  const ReduceKernel* kernel_;
  CommunicatorOptions options_;
  int rank_;
  int size_;
  // Allocated once, here, so that a step allocates nothing; mutable because the algorithms
  // take the communicator as const (like a cache: they change no observable state).
  mutable std::vector<Endpoint*> endpoints_;
  mutable std::vector<Request> sends_;
  mutable std::vector<Request> recvs_;
};

using AlgorithmFn = Status (*)(const Communicator&, const CollectiveShape&, const CollectiveBuffers&);
using ScratchFn = size_t (*)(const CollectiveShape&);

struct Algorithm {
  CollectiveKind kind;
  std::string_view name;     // "ring", "recursive-doubling", "rabenseifner", "bruck", "pairwise"
  AlgorithmFn run;
  ScratchFn scratch_bytes;   // bytes of CollectiveBuffers::scratch the run needs
};

class AlgorithmRegistry {
 public:
  static AlgorithmRegistry& instance();
  bool add(Algorithm algorithm);  // false (and not added) for a duplicate kind + name
  const Algorithm* find(CollectiveKind kind, std::string_view name) const;
  std::vector<const Algorithm*> for_kind(CollectiveKind kind) const;  // in name order
  std::vector<const Algorithm*> all() const;                           // by kind, then name

 private:
  std::deque<Algorithm> algorithms_;  // a deque: pointers handed out stay valid
};

// Looks an algorithm up with an error naming the ones there are.
Expected<const Algorithm*> find_algorithm(CollectiveKind kind, std::string_view name);

// Checks an invocation against the communicator and the algorithm's needs (count a multiple of
// ranks, buffer sizes, scratch, overlaps): kInvalidArgument naming what is wrong. Algorithms
// call it first; it allocates nothing unless it fails.
Status check_invocation(const Communicator& comm, const CollectiveShape& shape,
                        const CollectiveBuffers& buffers, CollectiveKind expected, size_t scratch_bytes);

}  // namespace fb

#define FB_REGISTER_ALGORITHM(kind, name, run, scratch_bytes)      \
  static const bool FB_CONCAT(fb_algorithm_registered_, __LINE__) = \
      ::fb::AlgorithmRegistry::instance().add(::fb::Algorithm{kind, name, run, scratch_bytes})
