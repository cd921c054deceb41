#include "bootstrap/local_bootstrap.h"

#include "bootstrap/star_protocol.h"

namespace fb {

LocalBootstrap::LocalBootstrap(UniqueFd launcher, int rank, int size,
                               std::chrono::milliseconds timeout)
    : launcher_(std::move(launcher)), rank_(rank), size_(size) {
  set_timeout(timeout);
}

Expected<std::vector<Bytes>> LocalBootstrap::allgather(ByteSpan mine) {
  if (!failure_.ok()) return failure_;
  const StarMember me{launcher_.get(), rank_, size_, "the launcher (parent process)"};
  Expected<std::vector<Bytes>> all = member_allgather(me, mine, timeout());
  if (!all.ok()) failure_ = all.status();
  return all;
}

}  // namespace fb
