// Reduce kernels: the element-wise combine step of all-reduce and reduce-scatter, chosen by the
// memory kind the buffers live in. The CPU kernel serves host memory and is always there; a
// device kernel (transports/cuda) registers itself for its memory kind. A kernel is also where
// benchmarks do the rest of their work on that memory without knowing what it is: copies, filling
// inputs and checking outputs in place, and timing on the device's own clock.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "fabricbench/collectives/datatype.h"
#include "fabricbench/collectives/reduce_values.h"
#include "fabricbench/transport/memory.h"
#include "fabricbench/transport/status.h"

namespace fb {

class DeviceTimer;

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

  // data[i] = scheme.value(i) for i < count, stored as `type` the way store_value does
  // (element_access.h); synchronous like reduce(). For filling inputs where they live, outside
  // timed code.
  [[nodiscard]] virtual Status fill(void* data, size_t count, DataType type, const ValueScheme& scheme) const;
  // How many of data[0, count) differ from scheme.value(i) when read as `type` and compared as
  // double (NaN is always wrong): nccl-tests' #wrong, counted where the data lives.
  [[nodiscard]] virtual Expected<uint64_t> count_wrong(const void* data, size_t count, DataType type,
                                                       const ValueScheme& scheme) const;
  // fill and count_wrong default to loops on the calling thread for memory it can address
  // (host, cuda-pinned) and are kUnsupported, naming the kernel, for any other kind. Both are
  // kInvalidArgument for an invalid type or a null buffer with count > 0.

  // A timer on the clock of the device that holds `on` (a buffer the timed work uses), started
  // and stopped in the order of the work this kernel does there. Host memory has no device
  // clock: the default is kUnsupported.
  [[nodiscard]] virtual Expected<std::unique_ptr<DeviceTimer>> make_timer(const void* on) const;

 protected:
  // Arguments are checked before this is called: a valid type and op, count > 0, non-null
  // pointers aligned to the element size, out either equal to or disjoint from each input.
  virtual Status reduce_checked(void* out, const void* a, const void* b, size_t count,
                                DataType type, ReduceOp op) const = 0;
};

// Times a stretch of device work on the device's clock (CUDA events, say): start() and stop()
// mark the two ends without waiting; elapsed_us() waits for the stop mark and returns the time
// between them. Made by ReduceKernel::make_timer; use it from the thread that made it.
class DeviceTimer {
 public:
  virtual ~DeviceTimer() = default;
  [[nodiscard]] virtual Status start() = 0;
  [[nodiscard]] virtual Status stop() = 0;
  [[nodiscard]] virtual Expected<double> elapsed_us() = 0;
};

// The kernel for buffers of this memory kind; kUnsupported while none is registered for it.
// The pointer stays valid for the life of the process.
Expected<const ReduceKernel*> reduce_kernel_for(MemoryKind kind);

// Adds the kernel for kernel->memory(); kInvalidArgument for a null kernel or a kind that
// already has one (host memory always has the CPU kernel).
Status register_reduce_kernel(std::unique_ptr<ReduceKernel> kernel);

}  // namespace fb
