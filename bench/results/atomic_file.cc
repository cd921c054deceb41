#include "results/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace fb {
namespace {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // close() reports errors that delayed writeback (NFS) only shows here.
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status write_all(int fd, std::string_view content, const std::string& path) {
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::from_errno(errno, "write " + path, FB_HERE);
    content.remove_prefix(static_cast<size_t>(n));
  }
  return ok_status();
}

Status write_and_sync(const std::string& path, std::string_view content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Status::from_errno(errno, "open " + path, FB_HERE);
  FB_TRY(write_all(fd.get(), content, path));
  if (::fsync(fd.get()) != 0) return Status::from_errno(errno, "fsync " + path, FB_HERE);
  if (fd.close() != 0) return Status::from_errno(errno, "close " + path, FB_HERE);
  return ok_status();
}

// The rename is durable only once the directory entry is on disk. Some file systems cannot
// fsync a directory (EINVAL); the file itself is already safe there, so that is not an error.
Status sync_directory_of(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::filesystem::path dir = parent.empty() ? std::filesystem::path(".") : parent;
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Status::from_errno(errno, "open " + dir.string(), FB_HERE);
  if (::fsync(fd.get()) != 0 && errno != EINVAL)
    return Status::from_errno(errno, "fsync " + dir.string(), FB_HERE);
  return ok_status();
}

}  // namespace

std::string temporary_path_for(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

Status write_file_atomically(const std::string& path, std::string_view content) {
  const std::string tmp = temporary_path_for(path);
  Status written = write_and_sync(tmp, content);
  if (written.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    written = Status::from_errno(errno, "rename " + tmp, FB_HERE);
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  return sync_directory_of(path);
}

}  // namespace fb
