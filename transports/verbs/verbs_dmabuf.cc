#include "verbs_dmabuf.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#if FB_VERBS_WITH_CUDA
#include <cuda.h>
#endif

namespace fb::verbs {
namespace {

// The driver API's types, as cuda.h declares them (checked against it when it is there).
using CuResult = int;
using CuDevicePtr = unsigned long long;
constexpr int kDmaBufFd = 1;  // CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD
using GetHandleFn = CuResult (*)(void*, CuDevicePtr, size_t, int, unsigned long long);
using GetErrorStringFn = CuResult (*)(CuResult, const char**);

#if FB_VERBS_WITH_CUDA
static_assert(kDmaBufFd == CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD);
static_assert(sizeof(CuDevicePtr) == sizeof(CUdeviceptr));
static_assert(sizeof(CuResult) == sizeof(CUresult));
#endif

// libcuda.so.1, opened once for the process and never closed (the CUDA runtime holds it too).
struct Driver {
  void* library = nullptr;
  GetHandleFn get_handle = nullptr;
  GetErrorStringFn error_string = nullptr;
  std::string missing;  // why it cannot be used, or empty
};

const Driver& driver() {
  static const Driver loaded = [] {
    Driver d;
    d.library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (d.library == nullptr) {
      const char* why = dlerror();
      d.missing = std::string("no CUDA driver on this host (dlopen libcuda.so.1: ") + (why ? why : "not found") +
                  "): GPU memory over verbs needs the NVIDIA driver and a GPU";
      return d;
    }
    d.get_handle = reinterpret_cast<GetHandleFn>(dlsym(d.library, "cuMemGetHandleForAddressRange"));
    d.error_string = reinterpret_cast<GetErrorStringFn>(dlsym(d.library, "cuGetErrorString"));
    if (d.get_handle == nullptr)
      d.missing = "the CUDA driver has no cuMemGetHandleForAddressRange (dma-buf export needs driver 11.7 or newer)";
    return d;
  }();
  return loaded;
}

}  // namespace

bool dmabuf_built() { return FB_VERBS_WITH_CUDA != 0; }

Expected<MrPtr> register_dmabuf(ibv_pd* pd, void* data, size_t size, int access, const std::string& device) {
  if (!dmabuf_built())
    return Status::error(StatusCode::kUnsupported,
                         "this fabricbench was built without CUDA: the verbs transport cannot register GPU memory "
                         "(rebuild with -DFABRICBENCH_WITH_CUDA=ON)",
                         FB_HERE);
  const Driver& d = driver();
  if (!d.missing.empty()) return Status::error(StatusCode::kUnsupported, d.missing, FB_HERE);
  // A dma-buf covers whole host pages; the MR starts `offset` bytes into it.
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto address = reinterpret_cast<uintptr_t>(data);
  const uintptr_t base = address & ~(page - 1);
  const uintptr_t end = (address + size + page - 1) & ~(page - 1);
  int fd = -1;
  const CuResult result = d.get_handle(&fd, base, end - base, kDmaBufFd, 0);
  if (result != 0) {
    const char* text = nullptr;
    if (d.error_string != nullptr) d.error_string(result, &text);
    return Status::error(StatusCode::kUnsupported,
                         std::string("the CUDA driver cannot export this GPU memory as a dma-buf "
                                     "(cuMemGetHandleForAddressRange: ") +
                             (text ? text : "error " + std::to_string(result)) +
                             "; needs an open kernel module driver and a GPU that supports it)",
                         FB_HERE);
  }
  ibv_mr* mr = ibv_reg_dmabuf_mr(pd, address - base, size, address, fd, access);
  const int err = errno;
  close(fd);  // the MR holds its own reference to the dma-buf
  if (mr == nullptr)
    return Status::native("verbs", err, std::strerror(err),
                          "ibv_reg_dmabuf_mr of " + std::to_string(size) + " bytes of GPU memory on " + device +
                              " (does the device and its kernel driver support dma-buf?)",
                          FB_HERE);
  return MrPtr(mr);
}

}  // namespace fb::verbs
