// One-sided put and get into registered memory, at offsets, completed by flush.
#include <array>
#include <cstring>

#include "conformance.h"

namespace fb::conformance {
namespace {

struct Segment {
  size_t offset;  // in the exposed window
  size_t size;
};
// Disjoint, at odd offsets and sizes; the gaps between them must stay untouched.
constexpr std::array<Segment, 6> kSegments{{
    {0, 1}, {8, 7}, {4096, 4096}, {12'291, 65'537}, {200'003, 256 * 1024 + 3}, {1 << 20, 4096 + 123}}};
constexpr size_t kWindowSize = (1 << 20) + 8192;
// Local data sits at a different offset than its remote target, to catch mixed-up offsets.
constexpr size_t kLocalShift = 13;

uint64_t segment_seed(size_t index, int owner) {
  return seed_for(kSegments[index].size, owner, static_cast<uint32_t>(1000 + index));
}

struct Memory {
  std::unique_ptr<Buffer> window, scratch;
  std::unique_ptr<MemRegion> window_region, scratch_region;
  std::vector<std::unique_ptr<RemoteRegion>> remote;  // by rank
};

Expected<Memory> expose(Rank& rank) {
  Memory m;
  FB_TRY_ASSIGN(m.window, allocate_host(kWindowSize));
  FB_TRY_ASSIGN(m.scratch, allocate_host(kWindowSize + kLocalShift));
  std::memset(m.window->data(), 0, m.window->size());
  FB_TRY_ASSIGN(m.window_region, rank.context.register_memory(m.window->span()));
  FB_TRY_ASSIGN(m.scratch_region, rank.context.register_memory(m.scratch->span()));
  FB_TRY_ASSIGN(m.remote, exchange_regions(rank.context, rank.bootstrap, *m.window_region));
  return m;
}

Status expect_untouched_gaps(const Buffer& window, std::string_view what) {
  size_t next = 0;
  for (size_t i = 0; i <= kSegments.size(); ++i) {
    const size_t end = i < kSegments.size() ? kSegments[i].offset : window.size();
    for (size_t at = next; at < end; ++at)
      if (window.bytes()[at] != std::byte{0})
        return Status::error(StatusCode::kDataCorruption,
                             std::string(what) + " wrote outside its targets, at offset " +
                                 std::to_string(at),
                             FB_HERE);
    if (i < kSegments.size()) next = kSegments[i].offset + kSegments[i].size;
  }
  return {};
}

Status put_phase(Rank& rank, Memory& m) {
  const int other = 1 - rank.rank();
  FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, other));
  std::vector<Request> requests;
  for (size_t i = 0; i < kSegments.size(); ++i) {
    std::byte* source = m.scratch->bytes() + kSegments[i].offset + kLocalShift;
    fill({source, kSegments[i].size}, segment_seed(i, rank.rank()));
    FB_TRY_ASSIGN(Request put, endpoint->put(source, kSegments[i].size, *m.scratch_region,
                                             *m.remote[other], kSegments[i].offset));
    requests.push_back(put);
  }
  FB_TRY_ASSIGN(Request flushed, endpoint->flush());
  requests.push_back(flushed);
  FB_TRY(wait_for_all(rank, requests, "put and flush"));
  FB_TRY(sync_through_transport(rank));
  for (size_t i = 0; i < kSegments.size(); ++i)
    FB_TRY(verify({m.window->bytes() + kSegments[i].offset, kSegments[i].size}, segment_seed(i, other),
                  "segment " + std::to_string(i) + " put by rank " + std::to_string(other)));
  return expect_untouched_gaps(*m.window, "put");
}

Status get_phase(Rank& rank, Memory& m) {
  const int other = 1 - rank.rank();
  FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, other));
  for (size_t i = 0; i < kSegments.size(); ++i)
    fill({m.window->bytes() + kSegments[i].offset, kSegments[i].size}, segment_seed(i, 100 + rank.rank()));
  std::memset(m.scratch->data(), 0, m.scratch->size());
  FB_TRY(rank.bootstrap.barrier());  // every window is filled before anyone reads
  std::vector<Request> requests;
  for (size_t i = 0; i < kSegments.size(); ++i) {
    FB_TRY_ASSIGN(Request get, endpoint->get(m.scratch->bytes() + kSegments[i].offset + kLocalShift,
                                             kSegments[i].size, *m.scratch_region, *m.remote[other],
                                             kSegments[i].offset));
    requests.push_back(get);
  }
  FB_TRY(wait_for_all(rank, requests, "get"));
  FB_TRY(sync_through_transport(rank));
  for (size_t i = 0; i < kSegments.size(); ++i)
    FB_TRY(verify({m.scratch->bytes() + kSegments[i].offset + kLocalShift, kSegments[i].size},
                  segment_seed(i, 100 + other),
                  "segment " + std::to_string(i) + " read from rank " + std::to_string(other)));
  return {};
}

TEST_P(TransportConformance, PutAndGetAtOffsets) {
  if (!caps().rma) GTEST_SKIP() << "transport does not declare rma: put/get not tested";
  run(2, [](Rank& rank) -> Status {
    FB_TRY_ASSIGN(Memory m, expose(rank));
    FB_TRY(put_phase(rank, m));
    return get_phase(rank, m);
  });
}

TEST_P(TransportConformance, RmaOutsideTheRegionIsRejected) {
  if (!caps().rma) GTEST_SKIP() << "transport does not declare rma: put/get not tested";
  run(2, [](Rank& rank) -> Status {
    FB_TRY_ASSIGN(Memory m, expose(rank));
    const int other = 1 - rank.rank();
    FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, other));
    auto posted = endpoint->put(m.scratch->data(), 16, *m.scratch_region, *m.remote[other], kWindowSize - 8);
    // Rejected when posted or when completed; never carried out.
    if (posted.ok() && wait_for(rank, posted.value(), "put past the end").ok())
      return expectation_failed("a put past the end of the remote region was accepted");
    return sync_through_transport(rank);
  });
}

// Empty regions register, pack and import; nothing but empty transfers fit in them.
TEST_P(TransportConformance, EmptyRegion) {
  if (!caps().rma) GTEST_SKIP() << "transport does not declare rma: put/get not tested";
  run(2, [](Rank& rank) -> Status {
    FB_TRY_ASSIGN(auto buffer, allocate_host(0));
    FB_TRY_ASSIGN(auto region, rank.context.register_memory(buffer->span()));
    FB_TRY_ASSIGN(auto remote, exchange_regions(rank.context, rank.bootstrap, *region));
    const int other = 1 - rank.rank();
    if (remote[other]->size() != 0)
      return expectation_failed("an empty region imported with size " +
                                std::to_string(remote[other]->size()));
    FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, other));
    FB_TRY_ASSIGN(Request put, endpoint->put(buffer->data(), 0, *region, *remote[other], 0));
    FB_TRY(wait_for(rank, put, "empty put"));
    FB_TRY_ASSIGN(Request get, endpoint->get(buffer->data(), 0, *region, *remote[other], 0));
    FB_TRY(wait_for(rank, get, "empty get"));
    FB_TRY(sync_through_transport(rank));
    return {};
  });
}

}  // namespace
}  // namespace fb::conformance

namespace fb::conformance {
namespace {

constexpr size_t kImmPuts = 8;
constexpr size_t kImmBytes = 3'001;

// Each rank put_imm()s segments to the other; every notification arrives in order with its
// value, and when it does, its segment is already in memory (no flush). The first receive is
// posted before anything arrives, the rest after their puts have long landed.
TEST_P(TransportConformance, PutWithImmediate) {
  if (!caps().put_imm) GTEST_SKIP() << "transport does not declare put_imm (see PutWithImmediateIsUnsupported)";
  run(2, [](Rank& rank) -> Status {
    const int other = 1 - rank.rank();
    FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, other));
    FB_TRY_ASSIGN(auto window, allocate_host(kImmPuts * kImmBytes));
    FB_TRY_ASSIGN(auto source, allocate_host(kImmPuts * kImmBytes));
    std::memset(window->data(), 0, window->size());
    FB_TRY_ASSIGN(auto window_region, rank.context.register_memory(window->span()));
    FB_TRY_ASSIGN(auto source_region, rank.context.register_memory(source->span()));
    FB_TRY_ASSIGN(auto remote, exchange_regions(rank.context, rank.bootstrap, *window_region));
    uint32_t first = 0;
    FB_TRY_ASSIGN(Request first_arrival, endpoint->recv_imm(&first));
    FB_TRY(rank.bootstrap.barrier());
    std::vector<Request> puts;
    for (size_t i = 0; i < kImmPuts; ++i) {
      std::byte* from = source->bytes() + i * kImmBytes;
      fill({from, kImmBytes}, seed_for(kImmBytes, rank.rank(), static_cast<uint32_t>(i)));
      FB_TRY_ASSIGN(Request put, endpoint->put_imm(from, kImmBytes, *source_region, *remote[other], i * kImmBytes,
                                                   static_cast<uint32_t>(1000 + i)));
      puts.push_back(put);
    }
    FB_TRY(wait_for_all(rank, puts, "put_imm"));
    for (size_t i = 0; i < kImmPuts; ++i) {
      uint32_t value = first;
      if (i == 0) {
        FB_TRY(wait_for(rank, first_arrival, "first put_imm notification"));
        value = first;
      } else {
        FB_TRY_ASSIGN(Request arrival, endpoint->recv_imm(&value));
        FB_TRY(wait_for(rank, arrival, "put_imm notification"));
      }
      if (value != 1000 + i)
        return expectation_failed("notification " + std::to_string(i) + " carried " + std::to_string(value) +
                                  ", expected " + std::to_string(1000 + i));
      FB_TRY(verify({window->bytes() + i * kImmBytes, kImmBytes},
                    seed_for(kImmBytes, other, static_cast<uint32_t>(i)),
                    "segment " + std::to_string(i) + " when its notification arrived"));
    }
    return sync_through_transport(rank);
  });
}

// A transport without put_imm says so with kUnsupported instead of doing something else.
TEST_P(TransportConformance, PutWithImmediateIsUnsupported) {
  if (caps().put_imm) GTEST_SKIP() << "transport declares put_imm (see PutWithImmediate)";
  if (!caps().rma) GTEST_SKIP() << "transport does not declare rma: no region to put into";
  run(2, [](Rank& rank) -> Status {
    const int other = 1 - rank.rank();
    FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, other));
    FB_TRY_ASSIGN(auto window, allocate_host(64));
    FB_TRY_ASSIGN(auto region, rank.context.register_memory(window->span()));
    FB_TRY_ASSIGN(auto remote, exchange_regions(rank.context, rank.bootstrap, *region));
    auto put = endpoint->put_imm(window->data(), 8, *region, *remote[other], 0, 7);
    uint32_t value = 0;
    auto arrival = endpoint->recv_imm(&value);
    if (put.ok() || put.status().code() != StatusCode::kUnsupported)
      return expectation_failed("put_imm without the capability: " + put.status().to_string());
    if (arrival.ok() || arrival.status().code() != StatusCode::kUnsupported)
      return expectation_failed("recv_imm without the capability: " + arrival.status().to_string());
    return sync_through_transport(rank);
  });
}

}  // namespace
}  // namespace fb::conformance
