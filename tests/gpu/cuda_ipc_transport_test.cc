// The cuda-ipc transport between forked ranks sharing the GPU: two-sided messages of awkward
// sizes with their data checked, completion order, many messages in flight through a small
// ring, tag and size mismatches reported on both sides, small receives into host memory,
// put/get/flush, and a peer that exits.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "cuda_ipc_test_util.h"
#include "fabricbench/transport/deadline.h"

namespace fb::cuda_ipc_tests {
namespace {

using std::chrono::milliseconds;

constexpr size_t kSizes[] = {0, 1, 7, 4096, (size_t{1} << 20) + 3};
// Buffers start this far into their allocation, so the exported offset is exercised.
constexpr size_t kSendOffset = 3;
constexpr size_t kRecvOffset = 5;

class CudaIpcMessages : public ::testing::TestWithParam<int> {};

// Every rank sends every size to every rank, itself included; even ranks post their sends
// before their receives, odd ranks after, so both arrival orders are covered.
TEST_P(CudaIpcMessages, EverySizeReachesEveryPeerIntact) {
  SKIP_WITHOUT_CUDA_IPC();
  const int ranks = GetParam();
  EXPECT_TRUE(run_job(ranks, [ranks](Context& context, Bootstrap&) -> Status {
    const int me = context.rank();
    for (size_t bytes : kSizes) {
      std::vector<std::unique_ptr<Buffer>> out(ranks), in(ranks);
      for (int peer = 0; peer < ranks; ++peer) {
        FB_TRY_ASSIGN(out[peer], device_buffer(bytes + kSendOffset));
        FB_TRY_ASSIGN(in[peer], device_buffer(bytes + kRecvOffset));
        FB_TRY(to_device(*out[peer], kSendOffset, pattern(bytes, me, peer, 1)));
      }
      std::vector<Request> requests;
      auto post = [&](bool sends) -> Status {
        for (int peer = 0; peer < ranks; ++peer) {
          FB_TRY_ASSIGN(Endpoint * endpoint, context.connect(peer));
          FB_TRY_ASSIGN(Request request, sends ? endpoint->send(out[peer]->bytes() + kSendOffset, bytes, 7)
                                               : endpoint->recv(in[peer]->bytes() + kRecvOffset, bytes, 7));
          requests.push_back(request);
        }
        return {};
      };
      FB_TRY(post(me % 2 == 0));
      FB_TRY(post(me % 2 != 0));
      FB_TRY(wait_all(context, requests, Deadline::after(kTimeout), "messages of " + std::to_string(bytes) + " bytes"));
      for (int peer = 0; peer < ranks; ++peer) {
        FB_TRY_ASSIGN(auto got, from_device(*in[peer], kRecvOffset, bytes));
        FB_TRY(expect(got == pattern(bytes, peer, me, 1),
                      std::to_string(bytes) + "-byte message from rank " + std::to_string(peer) + " is wrong"));
      }
    }
    const auto described = context.describe();
    return expect(!described.at("device_name").empty() && !described.at("pci_bus_id").empty(),
                  "describe() names no device");
  }));
}

// Rank 0 receives from every peer; the higher a peer's rank, the earlier it sends, so the
// receives complete in the opposite order to their posting.
TEST_P(CudaIpcMessages, ReceivesCompleteOutOfPostingOrder) {
  SKIP_WITHOUT_CUDA_IPC();
  const int ranks = GetParam();
  EXPECT_TRUE(run_job(ranks, [ranks](Context& context, Bootstrap& bootstrap) -> Status {
    constexpr size_t kBytes = 4096;
    FB_TRY_ASSIGN(auto buffer, device_buffer(kBytes * ranks));
    if (context.rank() != 0) {
      FB_TRY(to_device(*buffer, 0, pattern(kBytes, context.rank(), 0, 2)));
      std::this_thread::sleep_for(milliseconds(150 * (ranks - context.rank())));
      FB_TRY_ASSIGN(Endpoint * to_root, context.connect(0));
      FB_TRY_ASSIGN(Request sent, to_root->send(buffer->data(), kBytes, 3));
      FB_TRY(wait(context, sent, Deadline::after(kTimeout), "send to rank 0"));
      return bootstrap.barrier();
    }
    std::vector<Request> receives(ranks);
    for (int peer = 1; peer < ranks; ++peer) {
      FB_TRY_ASSIGN(Endpoint * from, context.connect(peer));
      FB_TRY_ASSIGN(receives[peer], from->recv(buffer->bytes() + peer * kBytes, kBytes, 3));
    }
    std::vector<int> finished;
    const Deadline deadline = Deadline::after(kTimeout);
    while (static_cast<int>(finished.size()) < ranks - 1 && !deadline.expired())
      for (int peer = 1; peer < ranks; ++peer) {
        if (receives[peer].completed()) continue;
        FB_TRY_ASSIGN(const bool done, context.test(receives[peer]));
        if (done) finished.push_back(peer);
      }
    FB_TRY(expect(static_cast<int>(finished.size()) == ranks - 1, "receives did not complete"));
    FB_TRY(expect(std::is_sorted(finished.rbegin(), finished.rend()), "receives completed in posting order"));
    for (int peer = 1; peer < ranks; ++peer) {
      FB_TRY_ASSIGN(auto got, from_device(*buffer, peer * kBytes, kBytes));
      FB_TRY(expect(got == pattern(kBytes, peer, 0, 2), "message from rank " + std::to_string(peer) + " is wrong"));
    }
    return bootstrap.barrier();
  }));
}

// More messages than the ring has slots, all posted before any is waited for, both ways
// between neighbours: receives beyond the ring wait for slots and still match in order.
TEST_P(CudaIpcMessages, ManyMessagesInFlightThroughASmallRing) {
  SKIP_WITHOUT_CUDA_IPC();
  const int ranks = GetParam();
  TransportOptions options;
  options.settings["slots"] = "16";
  EXPECT_TRUE(run_job(ranks, [ranks](Context& context, Bootstrap&) -> Status {
    constexpr size_t kMessages = 300;
    constexpr size_t kBytes = 1000;
    const int me = context.rank();
    const int next = (me + 1) % ranks;
    const int previous = (me + ranks - 1) % ranks;
    FB_TRY_ASSIGN(auto out, device_buffer(kMessages * kBytes));
    FB_TRY_ASSIGN(auto in, device_buffer(kMessages * kBytes));
    FB_TRY(to_device(*out, 0, pattern(kMessages * kBytes, me, next, 3)));
    FB_TRY_ASSIGN(Endpoint * to, context.connect(next));
    FB_TRY_ASSIGN(Endpoint * from, context.connect(previous));
    std::vector<Request> requests;
    for (size_t i = 0; i < kMessages; ++i) {
      const auto tag = static_cast<uint32_t>(i);
      FB_TRY_ASSIGN(Request r, from->recv(in->bytes() + i * kBytes, kBytes, tag));
      FB_TRY_ASSIGN(Request s, to->send(out->bytes() + i * kBytes, kBytes, tag));
      requests.push_back(r);
      requests.push_back(s);
    }
    FB_TRY(wait_all(context, requests, Deadline::after(kTimeout), "300 messages"));
    FB_TRY_ASSIGN(auto got, from_device(*in, 0, kMessages * kBytes));
    return expect(got == pattern(kMessages * kBytes, previous, me, 3), "messages arrived wrong or out of order");
  }, options));
}

INSTANTIATE_TEST_SUITE_P(Ranks, CudaIpcMessages, ::testing::Values(2, 4));

// A send whose tag differs from the receive it meets fails on both sides, naming both tags;
// so does one larger than its receive. A smaller one fits. The pair keeps working after.
TEST(CudaIpc, MismatchedTagsAndSizesFailOnBothSides) {
  SKIP_WITHOUT_CUDA_IPC();
  EXPECT_TRUE(run_job(2, [](Context& context, Bootstrap&) -> Status {
    const bool sender = context.rank() == 0;
    FB_TRY_ASSIGN(Endpoint * peer, context.connect(1 - context.rank()));
    FB_TRY_ASSIGN(auto buffer, device_buffer(100));
    FB_TRY(to_device(*buffer, 0, pattern(100, context.rank(), 0, 4)));
    auto one = [&](size_t send_bytes, uint32_t send_tag, size_t recv_bytes, uint32_t recv_tag) -> Status {
      FB_TRY_ASSIGN(Request request, sender ? peer->send(buffer->data(), send_bytes, send_tag)
                                            : peer->recv(buffer->data(), recv_bytes, recv_tag));
      return wait(context, request, Deadline::after(kTimeout), "the test message");
    };
    FB_TRY(expect_error(one(8, 5, 8, 6), StatusCode::kProtocol, {"tag 5", "tag 6", "rank 0", "rank 1"}));
    FB_TRY(expect_error(one(100, 9, 50, 9), StatusCode::kProtocol, {"100 bytes", "50-byte"}));
    FB_TRY(one(10, 11, 50, 11));
    FB_TRY_ASSIGN(auto got, from_device(*buffer, 0, 100));
    auto want = pattern(100, context.rank(), 0, 4);
    if (!sender) std::copy_n(pattern(100, 0, 0, 4).begin(), 10, want.begin());
    return expect(got == want, "the short message landed wrong, or the failed ones wrote");
  }));
}

// Receives into host memory of at most 64 bytes (the benchmarks' control messages) take the
// message through the slot, from a host or a device send; a larger host receive is refused
// with the reason, and the pair keeps working.
TEST(CudaIpc, SmallHostReceivesTravelThroughTheSlot) {
  SKIP_WITHOUT_CUDA_IPC();
  EXPECT_TRUE(run_job(2, [](Context& context, Bootstrap&) -> Status {
    const bool sender = context.rank() == 0;
    FB_TRY_ASSIGN(Endpoint * peer, context.connect(1 - context.rank()));
    FB_TRY_ASSIGN(auto device, device_buffer(64));
    FB_TRY(to_device(*device, 0, pattern(64, 0, 1, 7)));
    auto exchange = [&](const void* from, size_t bytes, uint32_t tag) -> Expected<std::vector<std::byte>> {
      std::vector<std::byte> into(bytes, std::byte{0});
      FB_TRY_ASSIGN(Request request, sender ? peer->send(from, bytes, tag) : peer->recv(into.data(), bytes, tag));
      FB_TRY(wait(context, request, Deadline::after(kTimeout), "the small message"));
      return into;
    };
    const std::vector<std::byte> host = pattern(64, 0, 1, 3);
    FB_TRY_ASSIGN(auto from_host, exchange(host.data(), 8, 1));
    FB_TRY_ASSIGN(auto from_device, exchange(device->data(), 64, 2));
    if (!sender) {
      FB_TRY(expect(std::equal(from_host.begin(), from_host.end(), host.begin()), "8 bytes from host memory"));
      FB_TRY(expect(from_device == pattern(64, 0, 1, 7), "64 bytes from device memory"));
      std::vector<std::byte> too_big(65);
      FB_TRY(expect_error(peer->recv(too_big.data(), too_big.size(), 3).status(), StatusCode::kUnsupported,
                          {"host memory", "64 bytes", "65-byte"}));
    }
    FB_TRY_ASSIGN(auto after, exchange(device->data(), 64, 4));
    return expect(sender || after == pattern(64, 0, 1, 7), "the message after the refused receive");
  }));
}

// Each rank reads from its next neighbour's region, then writes into its previous
// neighbour's; flush then guarantees the writes landed, which the owners check after a barrier.
TEST(CudaIpc, PutGetAndFlush) {
  SKIP_WITHOUT_CUDA_IPC();
  for (int ranks : {2, 4})
    EXPECT_TRUE(run_job(ranks, [ranks](Context& context, Bootstrap& bootstrap) -> Status {
      constexpr size_t kRegion = 3 << 20;
      constexpr size_t kBytes = (1 << 20) + 7;
      constexpr size_t kOffset = 1001;
      const int me = context.rank();
      const int next = (me + 1) % ranks;
      const int previous = (me + ranks - 1) % ranks;
      FB_TRY_ASSIGN(auto region_memory, device_buffer(kRegion + 64));
      const MemorySpan span{region_memory->bytes() + 64, kRegion, MemoryKind::kCudaDevice};
      FB_TRY(to_device(*region_memory, 64, pattern(kRegion, me, me, 5)));
      FB_TRY_ASSIGN(auto region, context.register_memory(span));
      FB_TRY_ASSIGN(auto remote, exchange_regions(context, bootstrap, *region));
      FB_TRY_ASSIGN(auto local_memory, device_buffer(kBytes));
      FB_TRY_ASSIGN(auto local, context.register_memory(local_memory->span()));

      FB_TRY_ASSIGN(Endpoint * to_next, context.connect(next));
      FB_TRY_ASSIGN(Request got, to_next->get(local_memory->data(), kBytes, *local, *remote[next], kOffset));
      FB_TRY(wait(context, got, Deadline::after(kTimeout), "get"));
      FB_TRY_ASSIGN(auto read, from_device(*local_memory, 0, kBytes));
      const auto theirs = pattern(kRegion, next, next, 5);
      FB_TRY(expect(std::equal(read.begin(), read.end(), theirs.begin() + kOffset), "get read the wrong bytes"));
      FB_TRY(bootstrap.barrier());  // every get has read before anyone overwrites

      FB_TRY(to_device(*local_memory, 0, pattern(kBytes, me, previous, 6)));
      FB_TRY_ASSIGN(Endpoint * to_previous, context.connect(previous));
      FB_TRY_ASSIGN(Request put, to_previous->put(local_memory->data(), kBytes, *local, *remote[previous], kOffset));
      FB_TRY_ASSIGN(Request flushed, to_previous->flush());
      FB_TRY(wait(context, flushed, Deadline::after(kTimeout), "flush"));
      FB_TRY(wait(context, put, Deadline::after(kTimeout), "put"));
      FB_TRY_ASSIGN(Request idle_flush, to_previous->flush());
      FB_TRY(wait(context, idle_flush, Deadline::after(kTimeout), "flush with nothing outstanding"));
      FB_TRY(expect_error(to_previous->put(local_memory->data(), 2, *local, *remote[previous], kRegion - 1).status(),
                          StatusCode::kInvalidArgument, {"outside"}));
      FB_TRY(bootstrap.barrier());

      FB_TRY_ASSIGN(auto mine, from_device(*region_memory, 64, kRegion));
      auto want = pattern(kRegion, me, me, 5);
      const auto written = pattern(kBytes, next, me, 6);
      std::copy(written.begin(), written.end(), want.begin() + kOffset);
      return expect(mine == want, "the region does not hold exactly what the put wrote");
    }));
}

// A receive from a rank that has exited fails with that rank named, well before its deadline.
TEST(CudaIpc, PeerThatExitsFailsPendingReceives) {
  SKIP_WITHOUT_CUDA_IPC();
  EXPECT_TRUE(run_job(
      2,
      [](Context& context, Bootstrap&) -> Status {
        if (context.rank() == 1) return {};  // leaves without closing
        FB_TRY_ASSIGN(auto buffer, device_buffer(64));
        FB_TRY_ASSIGN(Endpoint * peer, context.connect(1));
        FB_TRY_ASSIGN(Request request, peer->recv(buffer->data(), 64, 1));
        const auto started = Clock::now();
        const Status waited = wait(context, request, Deadline::after(kTimeout), "receive from an exited rank");
        FB_TRY(expect_error(waited, StatusCode::kPeerFailed, {"rank 1"}));
        return expect(Clock::now() - started < kTimeout / 2, "the exit was noticed only at the deadline");
      },
      {}, /*close=*/false));
}

}  // namespace
}  // namespace fb::cuda_ipc_tests
