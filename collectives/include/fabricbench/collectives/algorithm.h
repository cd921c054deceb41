// What a collective algorithm sees: the transport's endpoints, non-blocking send/recv and
// explicit progress, the reduce kernel for the buffers' memory kind, and the run's shape.
// No UCX, verbs or CUDA header here or in any algorithm.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "fabricbench/collectives/datatype.h"
#include "fabricbench/collectives/reduce.h"
#include "fabricbench/transport/transport.h"

namespace fb {

enum class CollectiveKind { kAllReduce, kAllGather, kReduceScatter, kAllToAll };

std::string_view to_string(CollectiveKind kind);

// One invocation, in nccl-tests terms: `count` is the element count of the whole buffer
// (all-reduce: input = output; all-gather: the gathered output; reduce-scatter: the input;
// all-to-all: input = output). Every count here is a multiple of `ranks`.
struct CollectiveShape {
  CollectiveKind kind;
  DataType dtype;
  ReduceOp op = ReduceOp::kSum;
  int ranks;
  size_t count;
  size_t block() const { return count / static_cast<size_t>(ranks); }  // elements per rank
  size_t element_bytes() const { return element_size(dtype); }
};

// Input and output buffers (same memory kind), plus scratch space of `scratch.size()` bytes
// an algorithm may use (at least one block, or the chunk size, whichever is larger).
struct CollectiveBuffers {
  std::span<std::byte> input;
  std::span<std::byte> output;
  std::span<std::byte> scratch;
};

class Communicator {
 public:
  Communicator(Context& transport, std::vector<Endpoint*> peers, const ReduceKernel& reduce,
               size_t chunk_bytes, std::chrono::milliseconds timeout);

  int rank() const { return transport_.rank(); }
  int size() const { return transport_.size(); }
  Endpoint& peer(int rank) const { return *peers_[static_cast<size_t>(rank)]; }
  Context& transport() const { return transport_; }
  const ReduceKernel& reduce() const { return reduce_; }
  // Large transfers are cut into pieces of this size so transfers overlap reductions.
  size_t chunk_bytes() const { return chunk_bytes_; }

  // Posts a send / receive with the collectives' tag.
  Expected<Request> send(int to, const std::byte* data, size_t bytes) const;
  Expected<Request> recv(int from, std::byte* data, size_t bytes) const;
  Status wait(Request& request, const char* what) const;
  // Sends `out` to `to` while receiving `in` from `from`, in chunk-sized pieces.
  Status exchange(int to, const std::byte* out, size_t out_bytes, int from, std::byte* in,
                  size_t in_bytes) const;

 private:
  Context& transport_;
  std::vector<Endpoint*> peers_;
  const ReduceKernel& reduce_;
  size_t chunk_bytes_;
  std::chrono::milliseconds timeout_;
};

using AlgorithmFn = Status (*)(const Communicator&, const CollectiveShape&, const CollectiveBuffers&);

struct Algorithm {
  CollectiveKind kind;
  std::string_view name;  // "ring", "recursive-doubling", ...
  AlgorithmFn run;
};

class AlgorithmRegistry {
 public:
  static AlgorithmRegistry& instance();
  bool add(Algorithm algorithm);
  const Algorithm* find(CollectiveKind kind, std::string_view name) const;
  std::vector<const Algorithm*> for_kind(CollectiveKind kind) const;

 private:
  std::vector<Algorithm> algorithms_;
};

}  // namespace fb

#define FB_REGISTER_ALGORITHM(kind, name, fn) \
  static const bool FB_CONCAT(fb_algorithm_registered_, __LINE__) = \
      ::fb::AlgorithmRegistry::instance().add(::fb::Algorithm{kind, name, fn})
