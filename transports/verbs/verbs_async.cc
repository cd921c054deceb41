#include "verbs_async.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

namespace fb::verbs {

EventFd::~EventFd() {
  if (fd_ >= 0) ::close(fd_);
}

const char* event_name(ibv_event_type type) {
  switch (type) {
    case IBV_EVENT_CQ_ERR: return "IBV_EVENT_CQ_ERR";
    case IBV_EVENT_QP_FATAL: return "IBV_EVENT_QP_FATAL";
    case IBV_EVENT_QP_REQ_ERR: return "IBV_EVENT_QP_REQ_ERR";
    case IBV_EVENT_QP_ACCESS_ERR: return "IBV_EVENT_QP_ACCESS_ERR";
    case IBV_EVENT_COMM_EST: return "IBV_EVENT_COMM_EST";
    case IBV_EVENT_SQ_DRAINED: return "IBV_EVENT_SQ_DRAINED";
    case IBV_EVENT_PATH_MIG: return "IBV_EVENT_PATH_MIG";
    case IBV_EVENT_PATH_MIG_ERR: return "IBV_EVENT_PATH_MIG_ERR";
    case IBV_EVENT_DEVICE_FATAL: return "IBV_EVENT_DEVICE_FATAL";
    case IBV_EVENT_PORT_ACTIVE: return "IBV_EVENT_PORT_ACTIVE";
    case IBV_EVENT_PORT_ERR: return "IBV_EVENT_PORT_ERR";
    case IBV_EVENT_LID_CHANGE: return "IBV_EVENT_LID_CHANGE";
    case IBV_EVENT_PKEY_CHANGE: return "IBV_EVENT_PKEY_CHANGE";
    case IBV_EVENT_SM_CHANGE: return "IBV_EVENT_SM_CHANGE";
    case IBV_EVENT_SRQ_ERR: return "IBV_EVENT_SRQ_ERR";
    case IBV_EVENT_SRQ_LIMIT_REACHED: return "IBV_EVENT_SRQ_LIMIT_REACHED";
    case IBV_EVENT_QP_LAST_WQE_REACHED: return "IBV_EVENT_QP_LAST_WQE_REACHED";
    case IBV_EVENT_CLIENT_REREGISTER: return "IBV_EVENT_CLIENT_REREGISTER";
    case IBV_EVENT_GID_CHANGE: return "IBV_EVENT_GID_CHANGE";
    case IBV_EVENT_WQ_FATAL: return "IBV_EVENT_WQ_FATAL";
  }
  return "IBV_EVENT_?";
}

bool is_fatal(ibv_event_type type) {
  switch (type) {
    case IBV_EVENT_CQ_ERR:
    case IBV_EVENT_QP_FATAL:
    case IBV_EVENT_QP_REQ_ERR:
    case IBV_EVENT_QP_ACCESS_ERR:
    case IBV_EVENT_PATH_MIG_ERR:
    case IBV_EVENT_DEVICE_FATAL:
    case IBV_EVENT_PORT_ERR:
    case IBV_EVENT_SRQ_ERR:
    case IBV_EVENT_WQ_FATAL:
      return true;
    default:
      return false;
  }
}

Expected<std::unique_ptr<AsyncEvents>> AsyncEvents::start(ibv_context* context, std::string device, int port,
                                                          std::map<uint32_t, int> qp_peers) {
  // Non-blocking, so that one readiness report never blocks the thread in
  // ibv_get_async_event where the shutdown eventfd cannot reach it.
  const int flags = fcntl(context->async_fd, F_GETFL);
  if (flags < 0 || fcntl(context->async_fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return Status::from_errno(errno, "fcntl O_NONBLOCK on the verbs async event fd of " + device, FB_HERE);
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) return Status::from_errno(errno, "eventfd for the verbs async event thread", FB_HERE);
  std::unique_ptr<AsyncEvents> events(
      new AsyncEvents(context, std::move(device), port, std::move(qp_peers), EventFd(wake)));
  events->thread_ = std::thread([raw = events.get()] { raw->run(); });
  return events;
}

AsyncEvents::AsyncEvents(ibv_context* context, std::string device, int port, std::map<uint32_t, int> qp_peers,
                         EventFd wake)
    : context_(context), device_(std::move(device)), port_(port), qp_peers_(std::move(qp_peers)),
      wake_(std::move(wake)) {}

AsyncEvents::~AsyncEvents() {
  const uint64_t one = 1;
  if (thread_.joinable()) {
    // The write cannot fail short of a full counter; the join would then wait for poll's
    // timeout below, never forever.
    (void)!::write(wake_.get(), &one, sizeof(one));
    thread_.join();
  }
}

void AsyncEvents::run() {
  pollfd fds[2] = {{.fd = context_->async_fd, .events = POLLIN, .revents = 0},
                   {.fd = wake_.get(), .events = POLLIN, .revents = 0}};
  for (;;) {
    const int ready = ::poll(fds, 2, 1000);
    if (ready < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if (ready <= 0 || fds[0].revents == 0) continue;
    ibv_async_event event;
    while (ibv_get_async_event(context_, &event) == 0) {
      record(event);
      // Every event is acknowledged at once: destroying a QP or CQ waits for its events' acks.
      ibv_ack_async_event(&event);
    }
  }
}

void AsyncEvents::record(const ibv_async_event& event) {
  const ibv_event_type type = event.event_type;
  std::string where = device_;
  bool ours = true;
  switch (type) {
    case IBV_EVENT_QP_FATAL:
    case IBV_EVENT_QP_REQ_ERR:
    case IBV_EVENT_QP_ACCESS_ERR:
    case IBV_EVENT_COMM_EST:
    case IBV_EVENT_SQ_DRAINED:
    case IBV_EVENT_PATH_MIG:
    case IBV_EVENT_PATH_MIG_ERR:
    case IBV_EVENT_QP_LAST_WQE_REACHED: {
      const uint32_t qpn = event.element.qp->qp_num;
      const auto peer = qp_peers_.find(qpn);
      where += " port " + std::to_string(port_) + ", QP " + std::to_string(qpn);
      if (peer != qp_peers_.end()) where += " to rank " + std::to_string(peer->second);
      break;
    }
    case IBV_EVENT_PORT_ACTIVE:
    case IBV_EVENT_PORT_ERR:
    case IBV_EVENT_LID_CHANGE:
    case IBV_EVENT_PKEY_CHANGE:
    case IBV_EVENT_SM_CHANGE:
    case IBV_EVENT_CLIENT_REREGISTER:
    case IBV_EVENT_GID_CHANGE:
      where += " port " + std::to_string(event.element.port_num);
      ours = event.element.port_num == port_;  // another port of the device going down is no error here
      break;
    case IBV_EVENT_CQ_ERR:
      where += " completion queue (overrun?)";
      break;
    default:
      break;
  }
  std::lock_guard lock(mutex_);
  ++counts_[event_name(type)];
  if (!ours || !is_fatal(type) || failed_.load(std::memory_order_relaxed)) return;
  first_ = Status::native("verbs", type, ibv_event_type_str(type),
                          std::string("asynchronous event ") + event_name(type) + " on " + where, FB_HERE);
  failed_.store(true, std::memory_order_release);
}

Status AsyncEvents::error() const {
  if (!failed()) return {};
  std::lock_guard lock(mutex_);
  return first_;
}

std::string AsyncEvents::seen() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, count] : counts_) {
    if (!out.empty()) out += ", ";
    out += name + " x" + std::to_string(count);
  }
  return out.empty() ? "none" : out;
}

}  // namespace fb::verbs
