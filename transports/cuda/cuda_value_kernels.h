// Filling and checking device buffers on the device: every element's value comes from a
// ValueScheme (fabricbench/collectives/reduce_values.h), computed by the same inline formulas
// the host uses, so a buffer filled here is bit for bit what the host loops would write.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "fabricbench/collectives/datatype.h"
#include "fabricbench/collectives/reduce_values.h"

namespace fb::cuda {

// Enqueues data[i] = scheme.value(i) for i < count, stored as `type` the way store_value does
// (int32 saturates, NaN becomes INT32_MIN; fp16 and bf16 round by way of float), on `stream`
// without waiting. The calling thread's current device must be the stream's; `data` must be
// device memory aligned to the element size. `multiprocessors` sizes the grid. Returns the
// launch error, if any.
cudaError_t enqueue_fill(void* data, size_t count, DataType type, const ValueScheme& scheme, int multiprocessors,
                         cudaStream_t stream);

// Enqueues *wrong += the number of data[0, count) that differ from scheme.value(i), read as
// `type` and compared as double (NaN is always wrong); `wrong` is device memory the caller
// zeroes first. Otherwise as enqueue_fill.
cudaError_t enqueue_count_wrong(const void* data, size_t count, DataType type, const ValueScheme& scheme,
                                unsigned long long* wrong, int multiprocessors, cudaStream_t stream);

}  // namespace fb::cuda
