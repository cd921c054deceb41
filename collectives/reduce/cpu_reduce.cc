#include "cpu_reduce.h"

#include <cstring>
#include <string>

namespace fb {
namespace {

class CpuReduceKernel final : public ReduceKernel {
 public:
  CpuReduceKernel(const CpuReduceLoops& loops, MemoryKind memory)
      : loops_(loops), name_("cpu-" + std::string(loops.isa)), memory_(memory) {}

  std::string_view name() const override { return name_; }
  MemoryKind memory() const override { return memory_; }

  Status copy(void* to, const void* from, size_t bytes) const override {
    if (bytes != 0) std::memcpy(to, from, bytes);
    return ok_status();
  }

 protected:
  Status reduce_checked(void* out, const void* a, const void* b, size_t count, DataType type,
                        ReduceOp op) const override {
    const ReduceLoopPair& loop = loops_.at(type, op);
    // In place goes to the two-stream loop, which vectorises whatever the compiler's overlap
    // test. The ops commute (up to which NaN or zero sign comes back), so out == b does too.
    if (out == a)
      loop.in_place(out, b, count);
    else if (out == b)
      loop.in_place(out, a, count);
    else
      loop.out_of_place(out, a, b, count);
    return ok_status();
  }

 private:
  const CpuReduceLoops& loops_;
  std::string name_;
  MemoryKind memory_;
};

}  // namespace

const CpuReduceLoops& best_cpu_reduce_loops() {
  if (const CpuReduceLoops* avx2 = avx2_reduce_loops()) return *avx2;
  return baseline_reduce_loops();
}

std::unique_ptr<ReduceKernel> make_cpu_reduce_kernel(const CpuReduceLoops& loops, MemoryKind memory) {
  return std::make_unique<CpuReduceKernel>(loops, memory);
}

}  // namespace fb
