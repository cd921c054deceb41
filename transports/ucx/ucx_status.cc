#include "ucx_status.h"

namespace fb::ucx {

Status native_error(ucs_status_t status, std::string_view operation, SourcePlace where) {
  return Status::native("ucx", status, ucs_status_string(status), operation, where);
}

std::string describe(const RequestInfo& info) {
  const std::string peer = std::to_string(info.peer);
  switch (info.op) {
    case Op::kTagSend:
      return "ucp_tag_send_nbx to rank " + peer + " (tag " + std::to_string(info.tag) + ")";
    case Op::kTagRecv:
      return "ucp_tag_recv_nbx from rank " + peer + " (tag " + std::to_string(info.tag) + ")";
    case Op::kPut: return "ucp_put_nbx to rank " + peer;
    case Op::kGet: return "ucp_get_nbx from rank " + peer;
    case Op::kFlush: return "ucp_ep_flush_nbx to rank " + peer;
  }
  return "UCX operation with rank " + peer;
}

Status op_error(ucs_status_t status, const RequestInfo& info, SourcePlace where) {
  Status error = native_error(status, describe(info), where);
  if (status == UCS_ERR_MESSAGE_TRUNCATED)
    return error.with_context("the message is larger than the posted receive buffer");
  return error;
}

}  // namespace fb::ucx
