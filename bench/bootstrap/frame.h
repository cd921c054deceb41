// Length-prefixed, bounded messages over a stream socket: the one wire format shared by the
// local and tcp bootstraps. A frame is an 8-byte header (payload length, type; big-endian)
// followed by the payload. Every call takes a deadline, so no peer can block a rank forever.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fabricbench/transport/bootstrap.h"
#include "fabricbench/transport/deadline.h"
#include "fabricbench/transport/status.h"

namespace fb {

enum class FrameType : uint32_t {
  kHello = 1,         // tcp: a rank introduces itself to rank 0
  kRoster = 2,        // tcp: rank 0 admits a rank and lists every rank's host
  kRefuse = 3,        // tcp: rank 0 turns a connection away, with the reason
  kContribution = 4,  // a rank's bytes for one exchange
  kResult = 5,        // every rank's bytes for that exchange
  kAbort = 6,         // the job failed; carries the status every rank should report
};

// Bootstrap data is addresses and keys; a bigger frame means a confused or hostile peer.
inline constexpr size_t kMaxFrameBytes = size_t{256} << 20;
inline constexpr size_t kFrameHeaderBytes = 8;

struct Frame {
  FrameType type;
  Bytes payload;
};

// Fails with kPeerFailed when the peer has gone (EPIPE, ECONNRESET), kTimeout at the deadline,
// kInvalidArgument for a payload over kMaxFrameBytes. Never raises SIGPIPE.
Status send_frame(int fd, FrameType type, ByteSpan payload, const Deadline& deadline);

// Fails with kPeerFailed when the peer closed the connection (before or inside a frame),
// kTimeout at the deadline, kProtocol for an unknown type or a length over max_payload.
Expected<Frame> recv_frame(int fd, const Deadline& deadline, size_t max_payload = kMaxFrameBytes);

}  // namespace fb
