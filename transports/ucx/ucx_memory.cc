#include "ucx_memory.h"

#include <cstring>

#include "ucx_status.h"

namespace fb::ucx {
namespace {

// The packed form: this header, then UCX's packed remote key. The magic catches keys from
// another transport or an incompatible build before UCX is handed foreign bytes.
constexpr uint64_t kPackedMagic = 0x31764b5258435546;  // "FUCXRKv1"

struct PackedHeader {
  uint64_t magic;
  uint64_t address;
  uint64_t size;
};

Expected<MemPtr> map_span(ucp_context_h context, MemorySpan memory) {
  ucp_mem_map_params_t params{};
  params.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH;
  params.address = memory.data;
  params.length = memory.size;
  ucp_mem_h memh = nullptr;
  if (ucs_status_t status = ucp_mem_map(context, &params, &memh); status != UCS_OK)
    return native_error(status, "ucp_mem_map of " + std::to_string(memory.size) + " bytes", FB_HERE);
  return MemPtr(memh, MemDeleter{context});
}

Expected<Bytes> pack_rkey(ucp_context_h context, ucp_mem_h memh) {
  void* buffer = nullptr;
  size_t size = 0;
  if (ucs_status_t status = ucp_rkey_pack(context, memh, &buffer, &size); status != UCS_OK)
    return native_error(status, "ucp_rkey_pack", FB_HERE);
  RkeyBufferPtr owned(buffer);
  const auto* first = static_cast<const std::byte*>(owned.get());
  return Bytes(first, first + size);
}

}  // namespace

Expected<std::unique_ptr<MemRegion>> UcxMemRegion::map(std::shared_ptr<WorkerState> state,
                                                       MemorySpan memory) {
  if (memory.kind != MemoryKind::kHost)
    return Status::error(StatusCode::kUnsupported,
                         "the ucx transport registers host memory only (asked for " +
                             std::string(to_string(memory.kind)) + ")",
                         FB_HERE);
  const PackedHeader header{kPackedMagic, reinterpret_cast<uint64_t>(memory.data), memory.size};
  Bytes packed = to_bytes(header);
  MemPtr memh(nullptr, MemDeleter{state->context.get()});
  // Nothing can be put into or read from an empty region, so it needs no UCX registration.
  if (memory.size > 0) {
    FB_TRY_ASSIGN(memh, map_span(state->context.get(), memory));
    FB_TRY_ASSIGN(Bytes rkey, pack_rkey(state->context.get(), memh.get()));
    packed.insert(packed.end(), rkey.begin(), rkey.end());
  }
  return std::unique_ptr<MemRegion>(
      new UcxMemRegion(std::move(state), memory, std::move(memh), std::move(packed)));
}

Expected<std::unique_ptr<RemoteRegion>> UcxRemoteRegion::import(std::shared_ptr<WorkerState> state,
                                                                ucp_ep_h ep, int peer, ByteSpan packed) {
  PackedHeader header{};
  if (packed.size() >= sizeof(header)) std::memcpy(&header, packed.data(), sizeof(header));
  const ByteSpan rkey_bytes = packed.size() >= sizeof(header) ? packed.subspan(sizeof(header)) : ByteSpan{};
  if (header.magic != kPackedMagic || (header.size > 0) == rkey_bytes.empty())
    return Status::error(StatusCode::kProtocol,
                         "rank " + std::to_string(peer) + " sent a malformed ucx region key (" +
                             std::to_string(packed.size()) + " bytes; is it from another transport?)",
                         FB_HERE);
  RkeyPtr rkey;
  if (header.size > 0) {
    ucp_rkey_h unpacked = nullptr;
    if (ucs_status_t status = ucp_ep_rkey_unpack(ep, rkey_bytes.data(), &unpacked); status != UCS_OK)
      return native_error(status, "ucp_ep_rkey_unpack of rank " + std::to_string(peer) + "'s key", FB_HERE);
    rkey.reset(unpacked);
  }
  return std::unique_ptr<RemoteRegion>(
      new UcxRemoteRegion(std::move(state), peer, header.address, header.size, std::move(rkey)));
}

}  // namespace fb::ucx
