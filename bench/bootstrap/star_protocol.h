// The star exchange shared by the local and tcp bootstraps: every member sends its bytes to a
// hub (kContribution), the hub answers each member with everyone's bytes (kResult) or, when
// the job failed, with the reason (kAbort). This file holds the payload formats and the
// member's side; star_hub.h holds the hub's.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "fabricbench/transport/bootstrap.h"
#include "fabricbench/transport/status.h"

namespace fb {

// Members wait this much longer than the hub, so the hub's message, which names the rank at
// fault, arrives before a member's own timeout, which can only blame the hub.
inline constexpr std::chrono::milliseconds kHubGrace{2000};

Bytes encode_gathered(const std::vector<Bytes>& per_rank);
Expected<std::vector<Bytes>> decode_gathered(ByteSpan payload, int expected_ranks);

Bytes encode_abort(const Status& status);
// The abort's status as this member reports it: same code, the hub's message.
Status decode_abort(ByteSpan payload);

// How a member names its hub in errors: "the launcher (parent process)",
// "bootstrap rank 0 at node1:29500".
struct StarMember {
  int fd;
  int rank;
  int size;
  std::string hub_name;
};

// One exchange from a member's side. The member waits timeout + kHubGrace for the answer.
Expected<std::vector<Bytes>> member_allgather(const StarMember& member, ByteSpan mine,
                                              std::chrono::milliseconds timeout);

}  // namespace fb
