// Reduce kernels: the element-wise combine step of all-reduce and reduce-scatter, chosen by the
// memory kind the buffers live in. The CPU kernel serves host memory and is always there; a
// device kernel (transports/cuda) registers itself for its memory kind.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "fabricbench/collectives/datatype.h"
#include "fabricbench/transport/memory.h"
#include "fabricbench/transport/status.h"

namespace fb {

// Semantics shared by every kernel:
// - sum of int32 wraps like two's complement;
// - fp16 and bf16 are computed in float and rounded once to nearest even, which is the
//   correctly rounded result; overflow gives infinity;
// - max and min return NaN if either operand is NaN; of +0 and -0 either may be returned.
// A kernel is synchronous: the result is in memory when reduce() returns. Kernels are stateless
// and may be used from several threads at once.
class ReduceKernel {
 public:
  virtual ~ReduceKernel() = default;
  virtual std::string_view name() const = 0;  // "cpu-avx2", for results and errors
  virtual MemoryKind memory() const = 0;      // the memory its pointers must point into

  // inout[i] = op(inout[i], in[i]) for i < count.
  [[nodiscard]] Status reduce(void* inout, const void* in, size_t count, DataType type,
                              ReduceOp op) const {
    return reduce(inout, inout, in, count, type, op);
  }
  // out[i] = op(a[i], b[i]) for i < count: a ring step that received into a scratch buffer
  // reduces it with the local chunk straight into the output, saving a copy. out may equal a
  // or b; any other overlap is an error.
  [[nodiscard]] Status reduce(void* out, const void* a, const void* b, size_t count,
                              DataType type, ReduceOp op) const;

  // to[0, bytes) = from[0, bytes), both in memory(); synchronous like reduce(), and the buffers
  // must not overlap. Collectives copy through their kernel so that device buffers are copied
  // on the device. The default is kUnsupported, naming the kernel.
  [[nodiscard]] virtual Status copy(void* to, const void* from, size_t bytes) const;

 protected:
  // Arguments are checked before this is called: a valid type and op, count > 0, non-null
  // pointers aligned to the element size, out either equal to or disjoint from each input.
  virtual Status reduce_checked(void* out, const void* a, const void* b, size_t count,
                                DataType type, ReduceOp op) const = 0;
};

// The kernel for buffers of this memory kind; kUnsupported while none is registered for it.
// The pointer stays valid for the life of the process.
Expected<const ReduceKernel*> reduce_kernel_for(MemoryKind kind);

// Adds the kernel for kernel->memory(); kInvalidArgument for a null kernel or a kind that
// already has one (host memory always has the CPU kernel).
Status register_reduce_kernel(std::unique_ptr<ReduceKernel> kernel);

}  // namespace fb
