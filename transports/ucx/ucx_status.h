// UCX status codes as fb::Status, and the small record each posted request carries so that a
// failure found only at completion can still name the operation and the peer.
#pragma once

#include <ucp/api/ucp.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fabricbench/transport/status.h"

namespace fb::ucx {

// A failed UCX call: kNative with UCX's own text and code.
Status native_error(ucs_status_t status, std::string_view operation, SourcePlace where);

enum class Op : uint8_t { kTagSend, kTagRecv, kPut, kGet, kFlush };

// Stored in the user area UCX reserves in every request (ucp_params_t::request_size); written
// when an operation is posted, read only if it fails, so the hot path pays three stores.
struct RequestInfo {
  Op op;
  uint32_t tag;
  int32_t peer;
};

// "ucp_tag_send_nbx to rank 3 (tag 7)".
std::string describe(const RequestInfo& info);

// The error for an operation that failed when posted or when it completed.
[[gnu::cold]] Status op_error(ucs_status_t status, const RequestInfo& info, SourcePlace where);

}  // namespace fb::ucx
