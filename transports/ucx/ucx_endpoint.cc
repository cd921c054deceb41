#include "ucx_endpoint.h"

#include "ucx_memory.h"
#include "ucx_status.h"

namespace fb::ucx {
namespace {

[[gnu::cold]] Status post_error(ucs_status_ptr_t request, Op op, uint32_t tag, int self, int peer) {
  return op_error(UCS_PTR_STATUS(request), {op, tag, peer}, FB_HERE)
      .with_context("rank " + std::to_string(self));
}

// The posting rank is passed only for the error message.
inline Expected<Request> posted(ucs_status_ptr_t request, Op op, uint32_t tag, int self, int peer) {
  if (request == nullptr) return Request{};
  if (UCS_PTR_IS_ERR(request)) [[unlikely]] return post_error(request, op, tag, self, peer);
  *static_cast<RequestInfo*>(request) = RequestInfo{op, tag, peer};
  return Request{request};
}

[[gnu::cold]] Status closed_error(int peer) {
  return Status::error(StatusCode::kInvalidArgument,
                       "operation with rank " + std::to_string(peer) + " after the ucx context was closed",
                       FB_HERE);
}

[[gnu::cold]] Status rma_error(const UcxMemRegion& local, const void* data, size_t bytes,
                               const UcxRemoteRegion& remote, size_t offset, int peer) {
  if (remote.peer() != peer)
    return Status::error(StatusCode::kInvalidArgument,
                         "remote region of rank " + std::to_string(remote.peer()) +
                             " used on the endpoint to rank " + std::to_string(peer),
                         FB_HERE);
  if (!local.contains(data, bytes))
    return Status::error(StatusCode::kInvalidArgument,
                         "local buffer of " + std::to_string(bytes) +
                             " bytes is not inside the registered region it was passed with",
                         FB_HERE);
  return Status::error(StatusCode::kInvalidArgument,
                       "one-sided access [" + std::to_string(offset) + ", " +
                           std::to_string(offset + bytes) + ") is outside rank " +
                           std::to_string(peer) + "'s " + std::to_string(remote.size()) + "-byte region",
                       FB_HERE);
}

inline bool rma_ok(const UcxMemRegion& local, const void* data, size_t bytes,
                   const UcxRemoteRegion& remote, size_t offset, int peer) {
  return remote.peer() == peer && local.contains(data, bytes) && offset <= remote.size() &&
         bytes <= remote.size() - offset;
}

}  // namespace

Expected<Request> UcxEndpoint::send(const void* data, size_t bytes, uint32_t tag) {
  if (!ep_) [[unlikely]] return closed_error(peer_);
  ucp_request_param_t param;
  param.op_attr_mask = 0;
  return posted(ucp_tag_send_nbx(ep_.get(), data, bytes, wire_tag(tag, self_), &param),
                Op::kTagSend, tag, self_, peer_);
}

Expected<Request> UcxEndpoint::recv(void* data, size_t bytes, uint32_t tag) {
  if (!ep_) [[unlikely]] return closed_error(peer_);
  ucp_request_param_t param;
  param.op_attr_mask = 0;
  return posted(ucp_tag_recv_nbx(worker_, data, bytes, wire_tag(tag, peer_), kMatchAll, &param),
                Op::kTagRecv, tag, self_, peer_);
}

// Regions handed to an endpoint come from the same Context, so they are ucx regions.
Expected<Request> UcxEndpoint::put(const void* data, size_t bytes, const MemRegion& local,
                                   const RemoteRegion& remote, size_t remote_offset) {
  if (!ep_) [[unlikely]] return closed_error(peer_);
  const auto& mine = static_cast<const UcxMemRegion&>(local);
  const auto& theirs = static_cast<const UcxRemoteRegion&>(remote);
  if (!rma_ok(mine, data, bytes, theirs, remote_offset, peer_)) [[unlikely]]
    return rma_error(mine, data, bytes, theirs, remote_offset, peer_);
  if (bytes == 0) return Request{};
  ucp_request_param_t param;
  param.op_attr_mask = UCP_OP_ATTR_FIELD_MEMH;
  param.memh = mine.memh();
  return posted(ucp_put_nbx(ep_.get(), data, bytes, theirs.address() + remote_offset,
                            theirs.rkey(), &param),
                Op::kPut, 0, self_, peer_);
}

Expected<Request> UcxEndpoint::get(void* data, size_t bytes, const MemRegion& local,
                                   const RemoteRegion& remote, size_t remote_offset) {
  if (!ep_) [[unlikely]] return closed_error(peer_);
  const auto& mine = static_cast<const UcxMemRegion&>(local);
  const auto& theirs = static_cast<const UcxRemoteRegion&>(remote);
  if (!rma_ok(mine, data, bytes, theirs, remote_offset, peer_)) [[unlikely]]
    return rma_error(mine, data, bytes, theirs, remote_offset, peer_);
  if (bytes == 0) return Request{};
  ucp_request_param_t param;
  param.op_attr_mask = UCP_OP_ATTR_FIELD_MEMH;
  param.memh = mine.memh();
  return posted(ucp_get_nbx(ep_.get(), data, bytes, theirs.address() + remote_offset,
                            theirs.rkey(), &param),
                Op::kGet, 0, self_, peer_);
}

Expected<Request> UcxEndpoint::flush() {
  if (!ep_) [[unlikely]] return closed_error(peer_);
  ucp_request_param_t param;
  param.op_attr_mask = 0;
  return posted(ucp_ep_flush_nbx(ep_.get(), &param), Op::kFlush, 0, self_, peer_);
}

}  // namespace fb::ucx
