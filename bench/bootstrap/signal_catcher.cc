#include "bootstrap/signal_catcher.h"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

namespace fb {

SignalCatcher::SignalCatcher() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (const int err = pthread_sigmask(SIG_BLOCK, &set, &previous_); err != 0) {
    status_ = Status::from_errno(err, "pthread_sigmask", FB_HERE);
    return;
  }
  blocked_ = true;
  fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd_) status_ = Status::from_errno(errno, "signalfd", FB_HERE);
}

SignalCatcher::~SignalCatcher() {
  fd_.reset();
  if (blocked_) pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

int SignalCatcher::take() {
  signalfd_siginfo info{};
  const ssize_t n = ::read(fd_.get(), &info, sizeof info);
  return n == static_cast<ssize_t>(sizeof info) ? static_cast<int>(info.ssi_signo) : 0;
}

void SignalCatcher::release_in_child() {
  fd_.reset();
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  blocked_ = false;
}

}  // namespace fb
