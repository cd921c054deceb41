#include "conformance.h"

#include <algorithm>

#include <cstring>
#include <thread>

#include "bootstrap/thread_bootstrap.h"

namespace fb::conformance {
namespace {

Status run_rank(const TransportInfo& info, std::shared_ptr<ThreadGroup> group, int rank,
                const TransportOptions& options, const RankBody& body) {
  ThreadBootstrap bootstrap(std::move(group), rank);
  bootstrap.set_timeout(kTimeout);
  FB_TRY_ASSIGN(auto context, open_transport(info.name, bootstrap, options));
  Rank me{*context, bootstrap};
  FB_TRY(body(me));
  return me.close_after ? context->close() : Status{};
}

std::vector<std::string> registered_names() {
  std::vector<std::string> names;
  for (const TransportInfo* info : TransportRegistry::instance().all()) names.push_back(info->name);
  return names;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& param) {
  std::string name = param.param;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

}  // namespace

void TransportConformance::SetUp() {
  info_ = TransportRegistry::instance().find(GetParam());
  ASSERT_NE(info_, nullptr) << "transport '" << GetParam() << "' left the registry";
  if (Status usable = info_->probe(); !usable.ok())
    GTEST_SKIP() << "transport '" << GetParam() << "' is not usable here: " << usable.to_string();
  // This suite runs ranks as threads on host buffers; a transport for device memory between
  // processes (cuda-ipc) has its own suite among the gpu tests.
  const auto& kinds = info_->capabilities.memory;
  if (std::find(kinds.begin(), kinds.end(), MemoryKind::kHost) == kinds.end())
    GTEST_SKIP() << "transport '" << GetParam() << "' does not move host memory (see its own suite)";
}

void TransportConformance::run(int ranks, const RankBody& body, TransportOptions options) {
  options.timeout = kTimeout;
  auto group = std::make_shared<ThreadGroup>(ranks);
  std::vector<Status> results(ranks);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < ranks; ++rank)
    threads.emplace_back([&, rank] { results[rank] = run_rank(info(), group, rank, options, body); });
  for (auto& thread : threads) thread.join();
  for (int rank = 0; rank < ranks; ++rank)
    EXPECT_TRUE(results[rank].ok()) << "rank " << rank << ": " << results[rank].debug_string();
}

Expected<Endpoint*> peer(Rank& rank, int peer) { return rank.context.connect(peer); }

Status wait_for(Rank& rank, Request& request, std::string_view what) {
  return wait(rank.context, request, Deadline::after(kTimeout), what);
}

Status wait_for_all(Rank& rank, std::span<Request> requests, std::string_view what) {
  return wait_all(rank.context, requests, Deadline::after(kTimeout), what);
}

Status sync_through_transport(Rank& rank) {
  std::vector<Request> requests;
  for (int other = 0; other < rank.size(); ++other) {
    if (other == rank.rank()) continue;
    FB_TRY_ASSIGN(Endpoint * endpoint, peer(rank, other));
    FB_TRY_ASSIGN(Request received, endpoint->recv(nullptr, 0, kSyncTag));
    FB_TRY_ASSIGN(Request sent, endpoint->send(nullptr, 0, kSyncTag));
    requests.push_back(received);
    requests.push_back(sent);
  }
  return wait_for_all(rank, requests, "synchronising message");
}

uint64_t seed_for(size_t size, int sender, uint32_t tag) {
  return size * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(sender) * 0xbf58476d1ce4e5b9ull +
         static_cast<uint64_t>(tag) * 0x94d049bb133111ebull + 1;
}

namespace {
// splitmix64 of (seed, offset): no period a shifted copy could hide in.
std::byte pattern_at(uint64_t seed, size_t offset) {
  uint64_t x = seed + offset * 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return static_cast<std::byte>(x ^ (x >> 31));
}
}  // namespace

void fill(std::span<std::byte> data, uint64_t seed) {
  for (size_t i = 0; i < data.size(); ++i) data[i] = pattern_at(seed, i);
}

Status verify(std::span<const std::byte> data, uint64_t seed, std::string_view what) {
  size_t wrong = 0;
  size_t first = 0;
  for (size_t i = 0; i < data.size(); ++i)
    if (data[i] != pattern_at(seed, i) && wrong++ == 0) first = i;
  if (wrong == 0) return {};
  return Status::error(StatusCode::kDataCorruption,
                       std::string(what) + ": " + std::to_string(wrong) + " of " +
                           std::to_string(data.size()) +
                           " bytes wrong, the first at offset " + std::to_string(first),
                       FB_HERE);
}

Expected<GuardedBuffer> GuardedBuffer::make(size_t size, size_t misalign) {
  FB_TRY_ASSIGN(auto base, allocate_host(size + 2 * kGuard + misalign));
  std::memset(base->data(), static_cast<int>(kGuardByte), base->size());
  return GuardedBuffer(std::move(base), size, misalign);
}

Status GuardedBuffer::check_guards(std::string_view what) const {
  const std::byte* all = base_->bytes();
  const size_t end = kGuard + misalign_ + size_;
  for (size_t i = 0; i < base_->size(); ++i) {
    if (i >= kGuard + misalign_ && i < end) continue;
    if (all[i] != kGuardByte)
      return Status::error(StatusCode::kDataCorruption,
                           std::string(what) + ": the transport wrote outside the " + std::to_string(size_) +
                               "-byte buffer (" + (i < kGuard + misalign_ ? "before" : "after") + " it)",
                           FB_HERE);
  }
  return {};
}

Status expectation_failed(std::string message) {
  return Status::error(StatusCode::kInternal, std::move(message), FB_HERE);
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TransportConformance);
INSTANTIATE_TEST_SUITE_P(AllTransports, TransportConformance, ::testing::ValuesIn(registered_names()),
                         test_name);

}  // namespace fb::conformance
