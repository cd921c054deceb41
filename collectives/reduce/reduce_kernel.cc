#include "fabricbench/collectives/reduce.h"

#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <string>

#include "cpu_reduce.h"
#include "fabricbench/collectives/element_access.h"

namespace fb {
namespace {

bool overlaps(uintptr_t x, uintptr_t y, size_t bytes) { return x < y + bytes && y < x + bytes; }

Status invalid(std::string message) {
  return Status::error(StatusCode::kInvalidArgument, "reduce: " + std::move(message), FB_HERE);
}

Status check_arguments(const void* out, const void* a, const void* b, size_t count, DataType type,
                       ReduceOp op) {
  if (!is_valid(type)) return invalid("invalid data type " + std::to_string(static_cast<int>(type)));
  if (!is_valid(op)) return invalid("invalid op " + std::to_string(static_cast<int>(op)));
  const size_t size = element_size(type);
  if (count > std::numeric_limits<size_t>::max() / size)
    return invalid(std::to_string(count) + " elements overflow the address space");
  if (!out || !a || !b) return invalid("null buffer for " + std::to_string(count) + " elements");
  const auto o = reinterpret_cast<uintptr_t>(out);
  const auto x = reinterpret_cast<uintptr_t>(a);
  const auto y = reinterpret_cast<uintptr_t>(b);
  if ((o | x | y) % size != 0)
    return invalid("buffer not aligned to its " + std::string(to_string(type)) + " elements");
  const size_t bytes = count * size;
  if ((o != x && overlaps(o, x, bytes)) || (o != y && overlaps(o, y, bytes)))
    return invalid("output partly overlaps an input");
  return ok_status();
}

class KernelTable {
 public:
  // Pinned host memory is host memory to the CPU: the same loops serve it.
  KernelTable() {
    by_kind_.emplace(MemoryKind::kHost, make_cpu_reduce_kernel(best_cpu_reduce_loops()));
    by_kind_.emplace(MemoryKind::kCudaPinned,
                     make_cpu_reduce_kernel(best_cpu_reduce_loops(), MemoryKind::kCudaPinned));
  }

  const ReduceKernel* find(MemoryKind kind) {
    std::lock_guard lock(mutex_);
    auto it = by_kind_.find(kind);
    return it == by_kind_.end() ? nullptr : it->second.get();
  }

  Status add(std::unique_ptr<ReduceKernel> kernel) {
    if (!kernel) return invalid("cannot register a null kernel");
    std::lock_guard lock(mutex_);
    const MemoryKind kind = kernel->memory();
    auto [it, added] = by_kind_.try_emplace(kind, std::move(kernel));
    if (!added)
      return invalid("a kernel for " + std::string(to_string(kind)) + " memory is already registered ('" +
                     std::string(it->second->name()) + "')");
    return ok_status();
  }

 private:
  std::mutex mutex_;
  // Kernels are never removed, so pointers handed out stay valid.
  std::map<MemoryKind, std::unique_ptr<ReduceKernel>> by_kind_;
};

KernelTable& kernels() {
  static KernelTable table;
  return table;
}

}  // namespace

Status ReduceKernel::reduce(void* out, const void* a, const void* b, size_t count, DataType type,
                            ReduceOp op) const {
  if (count == 0 && is_valid(type) && is_valid(op)) return ok_status();
  FB_TRY(check_arguments(out, a, b, count, type, op));
  return reduce_checked(out, a, b, count, type, op);
}

Status ReduceKernel::copy(void*, const void*, size_t bytes) const {
  return Status::error(StatusCode::kUnsupported,
                       "reduce kernel '" + std::string(name()) + "' cannot copy " +
                           std::string(to_string(memory())) + " memory (" + std::to_string(bytes) +
                           " bytes)",
                       FB_HERE);
}

namespace {

// Memory the calling thread can read and write with plain loads and stores.
bool host_addressable(MemoryKind kind) { return kind == MemoryKind::kHost || kind == MemoryKind::kCudaPinned; }

Status check_values_call(const ReduceKernel& kernel, const void* data, size_t count, DataType type,
                         std::string_view what) {
  if (!is_valid(type))
    return invalid(std::string(what) + ": invalid data type " + std::to_string(static_cast<int>(type)));
  if (count > 0 && !data)
    return invalid(std::string(what) + ": null buffer for " + std::to_string(count) + " elements");
  if (!host_addressable(kernel.memory()))
    return Status::error(StatusCode::kUnsupported,
                         "reduce kernel '" + std::string(kernel.name()) + "' cannot " + std::string(what) + " " +
                             std::string(to_string(kernel.memory())) + " memory",
                         FB_HERE);
  return ok_status();
}

}  // namespace

Status ReduceKernel::fill(void* data, size_t count, DataType type, const ValueScheme& scheme) const {
  FB_TRY(check_values_call(*this, data, count, type, "fill"));
  fill_values(data, count, type, [&](size_t i) { return scheme.value(i); });
  return ok_status();
}

Expected<uint64_t> ReduceKernel::count_wrong(const void* data, size_t count, DataType type,
                                             const ValueScheme& scheme) const {
  FB_TRY(check_values_call(*this, data, count, type, "check"));
  return static_cast<uint64_t>(fb::count_wrong(data, count, type, [&](size_t i) { return scheme.value(i); }));
}

Expected<std::unique_ptr<DeviceTimer>> ReduceKernel::make_timer(const void*) const {
  return Status::error(StatusCode::kUnsupported,
                       "reduce kernel '" + std::string(name()) + "' has no device clock for " +
                           std::string(to_string(memory())) + " memory",
                       FB_HERE);
}

Expected<const ReduceKernel*> reduce_kernel_for(MemoryKind kind) {
  if (const ReduceKernel* kernel = kernels().find(kind)) return kernel;
  return Status::error(StatusCode::kUnsupported,
                       "no reduce kernel for " + std::string(to_string(kind)) + " memory in this build",
                       FB_HERE);
}

Status register_reduce_kernel(std::unique_ptr<ReduceKernel> kernel) {
  return kernels().add(std::move(kernel));
}

}  // namespace fb
