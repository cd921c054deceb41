#include "fabricbench/transport/memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

namespace fb {
namespace {

class MappedHostBuffer final : public Buffer {
 public:
  MappedHostBuffer(void* data, size_t size, size_t mapped) : data_(data), size_(size), mapped_(mapped) {}
  ~MappedHostBuffer() override { munmap(data_, mapped_); }
  MappedHostBuffer(const MappedHostBuffer&) = delete;
  MappedHostBuffer& operator=(const MappedHostBuffer&) = delete;
  MemorySpan span() const override { return {data_, size_, MemoryKind::kHost}; }

 private:
  void* data_;
  size_t size_;
  size_t mapped_;
};

size_t round_up(size_t value, size_t unit) { return (value + unit - 1) / unit * unit; }

struct AllocatorTable {
  std::mutex mutex;
  std::map<MemoryKind, Allocator> by_kind;
};

AllocatorTable& allocators() {
  static AllocatorTable table;
  return table;
}

struct CopierTable {
  std::mutex mutex;
  std::map<MemoryKind, MemoryCopier> by_kind;
};

CopierTable& copiers() {
  static CopierTable table;
  return table;
}

}  // namespace

std::string_view to_string(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::kHost: return "host";
    case MemoryKind::kCudaDevice: return "cuda";
    case MemoryKind::kCudaPinned: return "cuda-pinned";
  }
  return "unknown";
}

Expected<MemoryKind> parse_memory_kind(std::string_view text) {
  for (MemoryKind kind : {MemoryKind::kHost, MemoryKind::kCudaDevice, MemoryKind::kCudaPinned})
    if (text == to_string(kind)) return kind;
  return Status::error(StatusCode::kInvalidArgument,
                       "unknown memory kind '" + std::string(text) + "' (use host, cuda or cuda-pinned)",
                       FB_HERE);
}

Expected<std::unique_ptr<Buffer>> allocate_host(size_t bytes, const AllocOptions& options) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  constexpr size_t kHugePage = size_t{2} << 20;
  // Zero-byte messages still need a valid address to register.
  const size_t wanted = bytes == 0 ? 1 : bytes;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
  size_t mapped = round_up(wanted, page);
  if (options.hugepages) {
    mapped = round_up(wanted, kHugePage);
    flags |= MAP_HUGETLB;
  }
  void* data = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (data == MAP_FAILED) {
    const int err = errno;
    if (options.hugepages)
      return Status::from_errno(err, "mmap(MAP_HUGETLB) of " + std::to_string(mapped) +
                                         " bytes (reserve hugepages in /proc/sys/vm/nr_hugepages "
                                         "or drop --hugepages)", FB_HERE);
    return Status::from_errno(err, "mmap of " + std::to_string(mapped) + " bytes", FB_HERE);
  }
  return std::unique_ptr<Buffer>(new MappedHostBuffer(data, bytes, mapped));
}

void register_allocator(MemoryKind kind, Allocator allocator) {
  auto& table = allocators();
  std::lock_guard lock(table.mutex);
  table.by_kind[kind] = std::move(allocator);
}

Expected<std::unique_ptr<Buffer>> allocate(MemoryKind kind, size_t bytes, const AllocOptions& options) {
  if (kind == MemoryKind::kHost) return allocate_host(bytes, options);
  Allocator allocator;
  {
    auto& table = allocators();
    std::lock_guard lock(table.mutex);
    auto it = table.by_kind.find(kind);
    if (it != table.by_kind.end()) allocator = it->second;
  }
  if (!allocator)
    return Status::error(StatusCode::kUnsupported,
                         "memory kind '" + std::string(to_string(kind)) +
                             "' is not available in this build (CUDA support not compiled in)",
                         FB_HERE);
  return allocator(bytes, options);
}

void register_memory_copier(MemoryKind kind, MemoryCopier copier) {
  std::lock_guard lock(copiers().mutex);
  copiers().by_kind[kind] = std::move(copier);
}

Status copy_memory(MemorySpan to, MemorySpan from, size_t bytes) {
  if (bytes > to.size || bytes > from.size)
    return Status::error(StatusCode::kInvalidArgument,
                         "copy of " + std::to_string(bytes) + " bytes does not fit its buffers (" +
                             std::to_string(from.size) + " -> " + std::to_string(to.size) + ")",
                         FB_HERE);
  if (bytes == 0) return ok_status();
  if (to.kind == MemoryKind::kHost && from.kind == MemoryKind::kHost) {
    std::memcpy(to.data, from.data, bytes);
    return ok_status();
  }
  const MemoryKind other = to.kind != MemoryKind::kHost ? to.kind : from.kind;
  MemoryCopier copier;
  {
    std::lock_guard lock(copiers().mutex);
    const auto found = copiers().by_kind.find(other);
    if (found != copiers().by_kind.end()) copier = found->second;
  }
  if (!copier)
    return Status::error(StatusCode::kUnsupported,
                         "no copier for " + std::string(to_string(other)) +
                             " memory in this build (CUDA kinds need the cuda part)",
                         FB_HERE);
  return copier(to, from, bytes);
}

}  // namespace fb
