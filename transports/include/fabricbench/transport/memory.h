// Memory kinds and their allocators. Host memory is always available; CUDA kinds register
// their allocators from transports/cuda when the toolkit is built in.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fabricbench/transport/status.h"

namespace fb {

enum class MemoryKind { kHost, kCudaDevice, kCudaPinned };

std::string_view to_string(MemoryKind kind);
Expected<MemoryKind> parse_memory_kind(std::string_view text);

// A view of memory that a transport may register or copy to/from.
struct MemorySpan {
  void* data = nullptr;
  size_t size = 0;
  MemoryKind kind = MemoryKind::kHost;
};

// An owned allocation; the destructor returns it to its allocator.
class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual MemorySpan span() const = 0;
  void* data() const { return span().data; }
  size_t size() const { return span().size; }
  MemoryKind kind() const { return span().kind; }
  std::byte* bytes() const { return static_cast<std::byte*>(data()); }
};

struct AllocOptions {
  bool hugepages = false;
  // For device memory kinds: the device, or when negative the local rank's share, one device
  // per local rank round-robin (local_rank modulo the devices this process sees).
  int device = -1;
  int local_rank = 0;
};

using Allocator = std::function<Expected<std::unique_ptr<Buffer>>(size_t, const AllocOptions&)>;

// Allocators register themselves per kind; a kind without one is kUnsupported with the reason.
void register_allocator(MemoryKind kind, Allocator allocator);
Expected<std::unique_ptr<Buffer>> allocate(MemoryKind kind, size_t bytes,
                                           const AllocOptions& options = {});

// Copies `bytes` from `from` to `to`, synchronously, whatever their kinds (host <-> device):
// for filling and checking buffers outside timed code. Host to host is memcpy; a copy that
// involves another kind goes to the copier registered for it (transports/cuda registers one
// for its kinds) and is kUnsupported while there is none.
using MemoryCopier = std::function<Status(MemorySpan to, MemorySpan from, size_t bytes)>;
void register_memory_copier(MemoryKind kind, MemoryCopier copier);
Status copy_memory(MemorySpan to, MemorySpan from, size_t bytes);

// Page-aligned host memory (with MAP_HUGETLB when asked and available).
Expected<std::unique_ptr<Buffer>> allocate_host(size_t bytes, const AllocOptions& options = {});

}  // namespace fb
