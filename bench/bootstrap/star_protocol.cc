#include "bootstrap/star_protocol.h"

#include "bootstrap/frame.h"
#include "bootstrap/wire.h"
#include "fabricbench/transport/deadline.h"

namespace fb {
namespace {

Status malformed(std::string what) {
  return Status::error(StatusCode::kProtocol, "malformed bootstrap " + what, FB_HERE);
}

std::string rank_prefix(int rank) { return "rank " + std::to_string(rank) + ": "; }

}  // namespace

Bytes encode_gathered(const std::vector<Bytes>& per_rank) {
  ByteWriter w;
  w.u32(static_cast<uint32_t>(per_rank.size()));
  for (const Bytes& b : per_rank) w.bytes(b);
  return w.take();
}

Expected<std::vector<Bytes>> decode_gathered(ByteSpan payload, int expected_ranks) {
  ByteReader r(payload);
  uint32_t count = 0;
  if (!r.u32(count)) return malformed("result: truncated header");
  if (count != static_cast<uint32_t>(expected_ranks))
    return malformed("result: " + std::to_string(count) + " ranks where " +
                     std::to_string(expected_ranks) + " were expected");
  std::vector<Bytes> out(count);
  for (Bytes& b : out)
    if (!r.bytes(b)) return malformed("result: truncated rank data");
  if (!r.at_end()) return malformed("result: trailing bytes");
  return out;
}

Bytes encode_abort(const Status& status) {
  ByteWriter w;
  w.u32(static_cast<uint32_t>(status.code()));
  w.string(status.message());
  return w.take();
}

Status decode_abort(ByteSpan payload) {
  ByteReader r(payload);
  uint32_t code = 0;
  std::string message;
  if (!r.u32(code) || !r.string(message) || code == 0 ||
      code > static_cast<uint32_t>(StatusCode::kInternal))
    return malformed("abort message");
  return Status::error(static_cast<StatusCode>(code), std::move(message), FB_HERE);
}

Expected<std::vector<Bytes>> member_allgather(const StarMember& m, ByteSpan mine,
                                              std::chrono::milliseconds timeout) {
  const std::string me = rank_prefix(m.rank);
  const Deadline deadline = Deadline::after(timeout + kHubGrace);
  Status sent = send_frame(m.fd, FrameType::kContribution, mine, deadline);
  // A hub that is gone may still have left an abort explaining why: read it before blaming
  // the lost connection.
  if (!sent.ok() && sent.code() != StatusCode::kPeerFailed) return sent.with_context(me).through(FB_HERE);
  Expected<Frame> reply = recv_frame(m.fd, deadline);
  if (!reply.ok()) {
    const StatusCode code = reply.status().code();
    if (code == StatusCode::kPeerFailed)
      return Status::error(code, me + "lost connection to " + m.hub_name, FB_HERE);
    if (code == StatusCode::kTimeout)
      return Status::error(code,
                           me + m.hub_name + " did not answer within " +
                               std::to_string((timeout + kHubGrace).count()) + " ms",
                           FB_HERE);
    return reply.status().with_context(me).through(FB_HERE);
  }
  if (reply->type == FrameType::kAbort)
    return decode_abort(reply->payload).with_context(me + "bootstrap exchange failed").through(FB_HERE);
  if (reply->type != FrameType::kResult)
    return malformed("reply from " + m.hub_name).with_context(me).through(FB_HERE);
  Expected<std::vector<Bytes>> all = decode_gathered(reply->payload, m.size);
  if (!all.ok()) return all.status().with_context(me).through(FB_HERE);
  return all;
}

}  // namespace fb
