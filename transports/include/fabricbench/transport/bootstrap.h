// Out-of-band exchange between ranks: who am I, who are my peers, gather everyone's bytes,
// wait for everyone. Transports use it to swap addresses and remote keys; benchmarks use it
// to agree on plans and to collect per-rank results. Implementations: thread (ranks are
// threads of one process), local (forked processes on this host), tcp (rank 0 rendezvous);
// mpi drops in beside them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "fabricbench/transport/status.h"

namespace fb {

using Bytes = std::vector<std::byte>;
using ByteSpan = std::span<const std::byte>;

class Bootstrap {
 public:
  virtual ~Bootstrap() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Rank among the ranks on this host, for pinning and device selection.
  virtual int local_rank() const { return rank(); }
  virtual int local_size() const { return size(); }
  // "thread", "local", "tcp", "mpi".
  virtual std::string kind() const = 0;

  // Every rank contributes its bytes (sizes may differ); every rank receives all of them,
  // indexed by rank. Fails with kTimeout or kPeerFailed naming the rank(s) at fault.
  virtual Expected<std::vector<Bytes>> allgather(ByteSpan mine) = 0;

  virtual Status barrier() { return allgather({}).status(); }

  std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

 private:
  std::chrono::milliseconds timeout_{std::chrono::seconds(60)};
};

// Helpers for trivially copyable values.
template <typename T>
Bytes to_bytes(const T& value) {
  Bytes out(sizeof(T));
  std::memcpy(out.data(), &value, sizeof(T));
  return out;
}

template <typename T>
Expected<std::vector<T>> allgather_value(Bootstrap& bootstrap, const T& value);

}  // namespace fb

template <typename T>
fb::Expected<std::vector<T>> fb::allgather_value(Bootstrap& bootstrap, const T& value) {
  FB_TRY_ASSIGN(auto all, bootstrap.allgather(to_bytes(value)));
  std::vector<T> out(all.size());
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r].size() != sizeof(T))
      return Status::error(StatusCode::kProtocol,
                           "rank " + std::to_string(r) + " sent " + std::to_string(all[r].size()) +
                               " bytes where " + std::to_string(sizeof(T)) + " were expected",
                           FB_HERE);
    std::memcpy(&out[r], all[r].data(), sizeof(T));
  }
  return out;
}
