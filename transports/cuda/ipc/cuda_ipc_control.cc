#include "cuda_ipc_control.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <new>

namespace fb::cuda_ipc {
namespace {

constexpr uint64_t kMagic = 0x6662637564616970ull;  // "fbcudaip"
constexpr uint32_t kVersion = 2;  // 2: inline landing for small host receives

size_t inbox_bytes(uint32_t slots) { return sizeof(InboxHeader) + size_t{slots} * sizeof(RecvSlot); }

size_t segment_bytes(int ranks, uint32_t slots) {
  return sizeof(SegmentHeader) + static_cast<size_t>(ranks) * inbox_bytes(slots);
}

// Maps `fd` and closes it (the mapping keeps the memory).
Expected<void*> map_fd(int fd, size_t bytes, const std::string& name) {
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int err = errno;
  ::close(fd);
  if (base == MAP_FAILED) return Status::from_errno(err, "mmap of shared memory " + name, FB_HERE);
  return base;
}

}  // namespace

std::string segment_name(const std::string& job_token, int rank) {
  return "/fb-cuda-ipc-" + job_token + "-" + std::to_string(rank);
}

Expected<ControlSegment> ControlSegment::create(const std::string& name, int rank, int ranks, uint32_t slots) {
  const int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return Status::from_errno(errno, "shm_open(" + name + ", O_CREAT | O_EXCL)", FB_HERE);
  ControlSegment segment;
  segment.name_to_unlink_ = name;  // from here on the destructor removes it
  segment.slots_ = slots;
  segment.bytes_ = segment_bytes(ranks, slots);
  if (::ftruncate(fd, static_cast<off_t>(segment.bytes_)) != 0) {
    const int err = errno;
    ::close(fd);
    ::shm_unlink(name.c_str());
    segment.name_to_unlink_.clear();
    return Status::from_errno(err, "ftruncate of shared memory " + name, FB_HERE);
  }
  FB_TRY_ASSIGN(segment.base_, map_fd(fd, segment.bytes_, name));
  // ftruncate zero-filled the pages: every slot is free (done == seq == 0) and nothing posted.
  auto* header = new (segment.base_) SegmentHeader{};
  header->magic = kMagic;
  header->version = kVersion;
  header->slots = slots;
  header->rank = rank;
  header->ranks = ranks;
  header->pid = ::getpid();
  for (int sender = 0; sender < ranks; ++sender) {
    new (&segment.inbox(sender)) InboxHeader{};
    for (uint32_t i = 0; i < slots; ++i) new (&segment.slot(sender, i + 1)) RecvSlot{};
  }
  return segment;
}

Expected<ControlSegment> ControlSegment::open(const std::string& name, int rank, int ranks, uint32_t slots) {
  const int fd = ::shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0)
    return Status::from_errno(errno,
                              "shm_open(" + name + ") of rank " + std::to_string(rank) +
                                  "'s control segment (cuda-ipc needs every rank on this host)",
                              FB_HERE);
  ControlSegment segment;
  segment.slots_ = slots;
  segment.bytes_ = segment_bytes(ranks, slots);
  struct stat info{};
  if (::fstat(fd, &info) != 0 || static_cast<size_t>(info.st_size) != segment.bytes_) {
    ::close(fd);
    return Status::error(StatusCode::kProtocol, "shared memory " + name + " has an unexpected size", FB_HERE);
  }
  FB_TRY_ASSIGN(segment.base_, map_fd(fd, segment.bytes_, name));
  const SegmentHeader& header = segment.header();
  if (header.magic != kMagic || header.version != kVersion || header.rank != rank || header.ranks != ranks ||
      header.slots != slots)
    return Status::error(StatusCode::kProtocol,
                         "shared memory " + name + " is not rank " + std::to_string(rank) +
                             "'s cuda-ipc control segment of this job",
                         FB_HERE);
  return segment;
}

ControlSegment::~ControlSegment() {
  if (base_) ::munmap(base_, bytes_);
  unlink();
}

void ControlSegment::unlink() {
  if (name_to_unlink_.empty()) return;
  ::shm_unlink(name_to_unlink_.c_str());
  name_to_unlink_.clear();
}

InboxHeader& ControlSegment::inbox(int sender) const {
  auto* first = static_cast<std::byte*>(base_) + sizeof(SegmentHeader);
  return *reinterpret_cast<InboxHeader*>(first + static_cast<size_t>(sender) * inbox_bytes(slots_));
}

RecvSlot& ControlSegment::slot(int sender, uint64_t seq) const {
  auto* slots = reinterpret_cast<std::byte*>(&inbox(sender)) + sizeof(InboxHeader);
  return *reinterpret_cast<RecvSlot*>(slots + ((seq - 1) % slots_) * sizeof(RecvSlot));
}

}  // namespace fb::cuda_ipc
