// The one transfer loop every algorithm goes through: chunked, windowed, non-blocking
// send/recv on one tag with explicit progress (fb::wait), reducing chunks as they land.
#include <algorithm>
#include <cstring>
#include <string>

#include "fabricbench/collectives/algorithm.h"

namespace fb {
namespace {

// Chunks are whole multiples of the largest element, so that a chunk boundary is an element
// boundary for every data type and every step (plain or reducing) cuts a range the same way.
constexpr size_t kChunkAlign = 8;

// Where chunk `index` of a (one- or two-part) transfer lies.
template <typename Byte>
struct ChunkAt {
  Byte* data;
  size_t bytes;
  size_t offset;  // from the start of the first part, counting the parts back to back
};

template <typename Byte>
ChunkAt<Byte> chunk_at(const Communicator::Parts<Byte>& parts, size_t chunk, size_t index) {
  const size_t first = parts.part[0].size();
  const size_t first_chunks = (first + chunk - 1) / chunk;
  const int p = index < first_chunks ? 0 : 1;
  const size_t offset = (index - (p == 0 ? 0 : first_chunks)) * chunk;
  const std::span<Byte> part = parts.part[p];
  return {part.data() + offset, std::min(chunk, part.size() - offset), (p == 0 ? 0 : first) + offset};
}

template <typename Byte>
size_t chunk_count(const Communicator::Parts<Byte>& parts, size_t chunk) {
  return (parts.part[0].size() + chunk - 1) / chunk + (parts.part[1].size() + chunk - 1) / chunk;
}

[[gnu::cold]] Status in_step(const Status& failed, std::string_view what, int peer, size_t index) {
  return failed.with_context(std::string(what) + " of chunk " + std::to_string(index) + " with rank " +
                             std::to_string(peer));
}

}  // namespace

Communicator::Communicator(Context& transport, const ReduceKernel& kernel, CommunicatorOptions options)
    : transport_(&transport),
      kernel_(&kernel),
      options_(options),
      rank_(transport.rank()),
      size_(transport.size()),
      endpoints_(static_cast<size_t>(transport.size()), nullptr),
      sends_(options.window),
      recvs_(options.window) {}

Expected<Communicator> Communicator::create(Context& transport, const ReduceKernel& kernel,
                                            CommunicatorOptions options) {
  if (options.chunk_bytes < kChunkAlign)
    return Status::error(StatusCode::kInvalidArgument,
                         "collective chunk size " + std::to_string(options.chunk_bytes) +
                             " bytes is below the minimum of " + std::to_string(kChunkAlign),
                         FB_HERE);
  if (options.window == 0)
    return Status::error(StatusCode::kInvalidArgument, "collective window must be at least one chunk",
                         FB_HERE);
  options.chunk_bytes -= options.chunk_bytes % kChunkAlign;
  if (options.timeout.count() <= 0) options.timeout = transport.options().timeout;
  return Communicator(transport, kernel, options);
}

Expected<Communicator> Communicator::create(Context& transport, MemoryKind memory,
                                            CommunicatorOptions options) {
  FB_TRY_ASSIGN(const ReduceKernel* kernel, reduce_kernel_for(memory));
  return create(transport, *kernel, options);
}

Expected<Endpoint*> Communicator::endpoint(int peer) const {
  if (peer < 0 || peer >= size_ || peer == rank_) [[unlikely]]
    return Status::error(StatusCode::kInternal,
                         "collective step names rank " + std::to_string(peer) + " as its peer (rank " +
                             std::to_string(rank_) + " of " + std::to_string(size_) + ")",
                         FB_HERE);
  Endpoint*& endpoint = endpoints_[static_cast<size_t>(peer)];
  if (endpoint == nullptr) {
    FB_TRY_ASSIGN(endpoint, transport_->connect(peer));
  }
  return endpoint;
}

Status Communicator::exchange(int to, SendParts out, int from, RecvParts in) const {
  return step(to, out, from, in, nullptr);
}

Status Communicator::exchange(int to, SendParts out, int from, std::span<std::byte> in,
                              const ReduceEach& reduce) const {
  return step(to, out, from, RecvParts{in}, &reduce);
}

Status Communicator::copy(std::byte* to, const std::byte* from, size_t bytes) const {
  if (bytes == 0 || to == from) return {};
  // The kernel knows how to reach its memory kind (memcpy for host, a device copy for device).
  return kernel_->copy(to, from, bytes);
}

// Posts the first `window` chunks each way, then walks the chunk indices in order: waits for
// send i (and posts send i + window in its slot), then for receive i (reduces it, posts
// receive i + window). Before blocking on index i a rank has posted every operation below
// i + window, and a peer's index-i operation depends only on operations of lower index, so
// the pair always makes progress. The send of chunk i completes before chunk i is reduced.
Status Communicator::step(int to, const SendParts& out, int from, const RecvParts& in,
                          const ReduceEach* reduce) const {
  const size_t chunk = options_.chunk_bytes;
  const size_t window = options_.window;
  const size_t sends = to == kNoPeer ? 0 : chunk_count(out, chunk);
  const size_t recvs = from == kNoPeer ? 0 : chunk_count(in, chunk);
  if (sends == 0 && recvs == 0) return {};
  Endpoint* send_to = nullptr;
  Endpoint* recv_from = nullptr;
  if (sends > 0) {
    FB_TRY_ASSIGN(send_to, endpoint(to));
  }
  if (recvs > 0) {
    FB_TRY_ASSIGN(recv_from, endpoint(from));
  }
  const uint32_t tag = options_.tag;

  auto post_send = [&](size_t i) -> Status {
    const auto c = chunk_at(out, chunk, i);
    Expected<Request> posted = send_to->send(c.data, c.bytes, tag);
    if (!posted.ok()) [[unlikely]] return in_step(posted.status(), "posting the send", to, i);
    sends_[i % window] = posted.value();
    return {};
  };
  auto post_recv = [&](size_t i) -> Status {
    const auto c = chunk_at(in, chunk, i);
    Expected<Request> posted = recv_from->recv(c.data, c.bytes, tag);
    if (!posted.ok()) [[unlikely]] return in_step(posted.status(), "posting the receive", from, i);
    recvs_[i % window] = posted.value();
    return {};
  };

  // Receives first, so that a peer's eager sends find them posted.
  for (size_t i = 0; i < std::min(recvs, window); ++i) FB_TRY(post_recv(i));
  for (size_t i = 0; i < std::min(sends, window); ++i) FB_TRY(post_send(i));

  Context& context = *transport_;
  const size_t steps = std::max(sends, recvs);
  for (size_t i = 0; i < steps; ++i) {
    if (i < sends) {
      Status done = wait(context, sends_[i % window], options_.timeout, "collective send");
      if (!done.ok()) [[unlikely]] return in_step(done, "the send", to, i);
      if (i + window < sends) FB_TRY(post_send(i + window));
    }
    if (i < recvs) {
      Status done = wait(context, recvs_[i % window], options_.timeout, "collective receive");
      if (!done.ok()) [[unlikely]] return in_step(done, "the receive", from, i);
      if (reduce != nullptr) {
        const auto c = chunk_at(in, chunk, i);
        const size_t elements = c.bytes / element_size(reduce->dtype);
        FB_TRY(kernel_->reduce(reduce->out + c.offset, reduce->a + c.offset, reduce->b + c.offset,
                               elements, reduce->dtype, reduce->op));
      }
      if (i + window < recvs) FB_TRY(post_recv(i + window));
    }
  }
  return {};
}

}  // namespace fb
