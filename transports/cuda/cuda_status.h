// CUDA runtime errors as Status values: the error's name and text, the call and the place.
#pragma once

#include <cuda_runtime_api.h>

#include <string_view>

#include "fabricbench/transport/status.h"

namespace fb::cuda {

inline Status status_of(cudaError_t error, std::string_view operation, SourcePlace where) {
  if (error == cudaSuccess) return ok_status();
  return Status::native("cuda", static_cast<int64_t>(error), cudaGetErrorString(error), operation,
                        where);
}

}  // namespace fb::cuda

// FB_CUDA_TRY(cudaMemcpy(...)): returns the error as a Status naming the call.
#define FB_CUDA_TRY(call) FB_TRY(::fb::cuda::status_of((call), #call, FB_HERE))
