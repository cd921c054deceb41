// The transport conformance suite: every registered transport runs the same tests through the
// contract only, with ranks as threads of this process (one Context per thread).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabricbench/transport/registry.h"
#include "fabricbench/transport/transport.h"

namespace fb::conformance {

// Long enough for a loaded 2-core machine, short enough that a lost message fails the test
// well inside ctest's timeout.
inline constexpr std::chrono::milliseconds kTimeout{20'000};

// Tags at the top of the range are the suite's own; tests use small tags.
inline constexpr uint32_t kSyncTag = 0xfffffff0u;

// What a rank's test body gets.
struct Rank {
  Context& context;
  Bootstrap& bootstrap;
  bool close_after = true;  // a body that closes (or abandons) its context itself clears this
  int rank() const { return bootstrap.rank(); }
  int size() const { return bootstrap.size(); }
};

// A rank's part of a test; a failure is returned, not asserted, so that it names the rank.
using RankBody = std::function<Status(Rank&)>;

class TransportConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  const TransportInfo& info() const { return *info_; }
  const Capabilities& caps() const { return info_->capabilities; }

  // Opens the transport on `ranks` threads, runs `body` on each, then closes every context;
  // reports every rank's failure.
  void run(int ranks, const RankBody& body, TransportOptions options = {});

 private:
  const TransportInfo* info_ = nullptr;
};

// Operations.
Expected<Endpoint*> peer(Rank& rank, int peer);
Status wait_for(Rank& rank, Request& request, std::string_view what);
Status wait_for_all(Rank& rank, std::span<Request> requests, std::string_view what);
// Every rank exchanges an empty message with every other rank through the transport, so each
// keeps progressing until its peers are done (software RMA needs the target to progress).
Status sync_through_transport(Rank& rank);

// Data whose every byte depends on the seed and its offset, so a shifted, swapped or stale
// copy is caught.
uint64_t seed_for(size_t size, int sender, uint32_t tag);
void fill(std::span<std::byte> data, uint64_t seed);
Status verify(std::span<const std::byte> data, uint64_t seed, std::string_view what);

// Host memory with guard bytes on both sides of the usable part, which may start at an odd
// address; check_guards() catches a transport writing past the buffer it was given.
class GuardedBuffer {
 public:
  static Expected<GuardedBuffer> make(size_t size, size_t misalign = 0);
  std::byte* data() const { return base_->bytes() + kGuard + misalign_; }
  size_t size() const { return size_; }
  std::span<std::byte> span() const { return {data(), size_}; }
  Status check_guards(std::string_view what) const;

 private:
  static constexpr size_t kGuard = 64;
  static constexpr std::byte kGuardByte{0xa5};
  GuardedBuffer(std::unique_ptr<Buffer> base, size_t size, size_t misalign)
      : base_(std::move(base)), size_(size), misalign_(misalign) {}
  std::unique_ptr<Buffer> base_;
  size_t size_;
  size_t misalign_;
};

// A failure of the test's own expectations, from inside a rank.
Status expectation_failed(std::string message);

}  // namespace fb::conformance
