#include "bootstrap/star_hub.h"

#include <algorithm>
#include <climits>

#include "bootstrap/star_protocol.h"

namespace fb {
namespace {

// An abort is small and must not wait long on a member that is stuck and not reading.
constexpr std::chrono::milliseconds kSendBound{1000};

}  // namespace

StarHub::StarHub(int size, std::chrono::milliseconds timeout, RankNamer name)
    : size_(size), timeout_(timeout), name_(std::move(name)), slots_(size) {}

void StarHub::attach(int rank, int fd) {
  slots_[rank].fd = fd;
  slots_[rank].connected = true;
}

std::vector<int> StarHub::watched_ranks() const {
  const bool only_owing = round_deadline_.has_value() && !failed();
  std::vector<int> out;
  for (int r = 0; r < size_; ++r)
    if (slots_[r].connected && !(only_owing && slots_[r].contribution)) out.push_back(r);
  return out;
}

int StarHub::poll_timeout_ms() const {
  if (!round_deadline_ || failed()) return -1;
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(*round_deadline_ - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, INT_MAX));
}

int StarHub::connected_members() const {
  return static_cast<int>(
      std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.connected; }));
}

void StarHub::contribute(int rank, Bytes bytes) {
  if (failed()) return;
  accept_contribution(rank, std::move(bytes));
}

bool StarHub::read_from(int rank) {
  // poll() said the frame has started to arrive; the rest follows unless the member is broken.
  Expected<Frame> frame = recv_frame(slots_[rank].fd, Deadline::after(timeout_));
  if (!frame.ok() && frame.status().code() == StatusCode::kPeerFailed) return false;
  if (failed()) return true;  // the job is over; only exits still matter
  if (!frame.ok()) {
    fail(StatusCode::kProtocol, name_(rank) + " sent a bad bootstrap message (" +
                                    frame.status().message() + ")");
    return true;
  }
  if (frame->type != FrameType::kContribution || slots_[rank].contribution) {
    fail(StatusCode::kProtocol, name_(rank) + " sent an unexpected bootstrap message (type " +
                                    std::to_string(static_cast<uint32_t>(frame->type)) +
                                    ") during " + exchange_name());
    return true;
  }
  accept_contribution(rank, std::move(frame->payload));
  return true;
}

void StarHub::member_gone(int rank, std::string how) {
  Slot& slot = slots_[rank];
  slot.connected = false;
  slot.gone = true;
  slot.gone_how = std::move(how);
  // Between rounds an exit is normal (a rank that finished); it only fails the job if
  // the others later start an exchange this rank can no longer join.
  if (round_deadline_) fail_if_gone_members_owe();
}

void StarHub::check_deadline() {
  if (failed() || !round_deadline_ || Clock::now() < *round_deadline_) return;
  fail(StatusCode::kTimeout, exchange_name() + " timed out after " +
                                 std::to_string(timeout_.count()) + " ms waiting for " +
                                 missing_ranks() +
                                 "; check that rank (hung, crashed or too slow) or raise the "
                                 "bootstrap timeout");
}

void StarHub::fail(StatusCode code, std::string message) {
  if (failed()) return;
  failure_ = Status::error(code, std::move(message), FB_HERE);
  round_deadline_.reset();
  broadcast(FrameType::kAbort, encode_abort(failure_), kSendBound);
}

void StarHub::accept_contribution(int rank, Bytes bytes) {
  slots_[rank].contribution = std::move(bytes);
  ++contributed_;
  if (!round_deadline_) open_round();
  fail_if_gone_members_owe();
  complete_round_if_full();
}

void StarHub::open_round() {
  round_deadline_ = Clock::now() + timeout_;
}

void StarHub::fail_if_gone_members_owe() {
  if (failed()) return;
  for (int r = 0; r < size_; ++r) {
    const Slot& s = slots_[r];
    if (s.gone && !s.contribution) {
      fail(StatusCode::kPeerFailed, name_(r) + " " + s.gone_how + " before joining " + exchange_name());
      return;
    }
  }
}

void StarHub::complete_round_if_full() {
  if (failed() || contributed_ < size_) return;
  result_.clear();
  result_.reserve(size_);
  for (Slot& s : slots_) {
    result_.push_back(std::move(*s.contribution));
    s.contribution.reset();
  }
  contributed_ = 0;
  round_deadline_.reset();
  Bytes payload = encode_gathered(result_);
  if (payload.size() > kMaxFrameBytes) {
    fail(StatusCode::kInvalidArgument,
         exchange_name() + " gathered " + std::to_string(payload.size()) +
             " bytes, over the " + std::to_string(kMaxFrameBytes >> 20) +
             " MiB limit of one bootstrap message; exchange less data per rank");
    return;
  }
  broadcast(FrameType::kResult, payload, timeout_);
  ++round_;
}

void StarHub::broadcast(FrameType type, const Bytes& payload, std::chrono::milliseconds bound) {
  for (Slot& s : slots_) {
    // A member that died after contributing shows up as EOF on the next read; its
    // failed send needs no handling here.
    if (s.connected) (void)send_frame(s.fd, type, payload, Deadline::after(bound));
  }
}

std::string StarHub::missing_ranks() const {
  std::string out;
  for (int r = 0; r < size_; ++r)
    if (!slots_[r].contribution) out += (out.empty() ? "" : ", ") + name_(r);
  return out;
}

}  // namespace fb
