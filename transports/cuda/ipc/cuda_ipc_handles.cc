#include "cuda_ipc_handles.h"

#include <cuda.h>

#include <mutex>
#include <string>

#include "cuda_status.h"

namespace fb::cuda_ipc {
namespace {

using PointerAttributesFn = CUresult(CUDAAPI*)(unsigned, CUpointer_attribute*, void**, CUdeviceptr);

// The driver call is looked up through the runtime rather than linked: libcuda.so exists only
// where a driver is installed, and the binaries must start (and skip) on hosts without one.
Expected<PointerAttributesFn> pointer_attributes_fn() {
  static std::once_flag once;
  static PointerAttributesFn fn = nullptr;
  static cudaError_t error = cudaSuccess;
  static cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSuccess;
  std::call_once(once, [] {
    void* symbol = nullptr;
    error = cudaGetDriverEntryPointByVersion("cuPointerGetAttributes", &symbol, 12000, cudaEnableDefault, &found);
    fn = reinterpret_cast<PointerAttributesFn>(symbol);
  });
  FB_TRY(cuda::status_of(error, "cudaGetDriverEntryPointByVersion(cuPointerGetAttributes)", FB_HERE));
  if (found != cudaDriverEntryPointSuccess || fn == nullptr)
    return Status::error(StatusCode::kUnavailable, "the CUDA driver does not provide cuPointerGetAttributes",
                         FB_HERE);
  return fn;
}

}  // namespace

Expected<Allocation> find_allocation(const void* data, size_t bytes) {
  FB_TRY_ASSIGN(PointerAttributesFn get_attributes, pointer_attributes_fn());
  unsigned memory_type = 0;
  unsigned is_managed = 0;
  CUdeviceptr start = 0;
  size_t size = 0;
  unsigned long long id = 0;
  CUpointer_attribute attributes[] = {CU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_IS_MANAGED,
                                      CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, CU_POINTER_ATTRIBUTE_RANGE_SIZE,
                                      CU_POINTER_ATTRIBUTE_BUFFER_ID};
  void* values[] = {&memory_type, &is_managed, &start, &size, &id};
  // Memory CUDA does not know is not an error here: the attributes come back zero.
  const CUresult result = get_attributes(5, attributes, values, reinterpret_cast<CUdeviceptr>(data));
  if (result != CUDA_SUCCESS)
    return Status::native("cuda driver", result, "cuPointerGetAttributes failed", "cuPointerGetAttributes",
                          FB_HERE);
  if (memory_type != CU_MEMORYTYPE_DEVICE || is_managed)
    return Status::error(StatusCode::kUnsupported,
                         "cuda-ipc moves CUDA device memory (cudaMalloc) only; the buffer at " +
                             std::to_string(reinterpret_cast<uintptr_t>(data)) + " is not",
                         FB_HERE);
  Allocation allocation{reinterpret_cast<std::byte*>(start), size, id};
  const auto* first = static_cast<const std::byte*>(data);
  if (first + bytes > allocation.base + allocation.size)
    return Status::error(StatusCode::kInvalidArgument,
                         std::to_string(bytes) + " bytes at offset " + std::to_string(first - allocation.base) +
                             " run past the end of their " + std::to_string(size) + "-byte allocation",
                         FB_HERE);
  return allocation;
}

Expected<IpcMapping> IpcMapping::open(const cudaIpcMemHandle_t& handle, int peer) {
  IpcMapping mapping;
  void* base = nullptr;
  // Lazy peer access: ranks on different GPUs get it enabled on first use where P2P exists.
  const cudaError_t error = cudaIpcOpenMemHandle(&base, handle, cudaIpcMemLazyEnablePeerAccess);
  if (error != cudaSuccess) {
    (void)cudaGetLastError();
    return cuda::status_of(error, "cudaIpcOpenMemHandle of memory exported by rank " + std::to_string(peer),
                           FB_HERE);
  }
  mapping.base_ = static_cast<std::byte*>(base);
  return mapping;
}

IpcMapping::~IpcMapping() {
  if (base_) (void)cudaIpcCloseMemHandle(base_);
}

}  // namespace fb::cuda_ipc
