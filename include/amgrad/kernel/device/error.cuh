#pragma once
// Every CUDA runtime and cuBLAS call of the library goes through these checks: a failure throws
// amgrad::error naming the call, the code and CUDA's description of it. A missing device is
// reported as such, not as the first failing allocation.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "amgrad/error.hpp"

namespace amgrad::detail {

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess)
    amgrad::fail("amgrad (CUDA)", call, " failed with ", cudaGetErrorName(status), " (",
                         static_cast<int>(status), "): ", cudaGetErrorString(status), " at ", file,
                         ":", line);
}

inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    amgrad::fail("amgrad (cuBLAS)", call, " failed with ", cublasGetStatusName(status),
                         " (", static_cast<int>(status), "): ", cublasGetStatusString(status),
                         " at ", file, ":", line);
}

}  // namespace amgrad::detail

#define AMGRAD_CUDA_CHECK(call) \
  ::amgrad::detail::check_cuda((call), #call, __FILE__, __LINE__)
#define AMGRAD_CUBLAS_CHECK(call) \
  ::amgrad::detail::check_cublas((call), #call, __FILE__, __LINE__)
// After a kernel launch: launch-configuration errors surface here, without synchronising.
#define AMGRAD_CUDA_CHECK_LAUNCH(kernel_name) \
  ::amgrad::detail::check_cuda(cudaGetLastError(), "launch of " kernel_name, \
                                               __FILE__, __LINE__)

namespace amgrad::kernel::device {

// Number of CUDA devices; 0 when none is present or no driver is installed (never throws).
inline int device_count() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no device" state for later calls
    return 0;
  }
  return count;
}

// Throws a clear amgrad::error when no CUDA device can be used.
inline void require_device(const char* where) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    amgrad::fail(where, "no usable CUDA device: cudaGetDeviceCount failed with ",
                         cudaGetErrorName(status), ": ", cudaGetErrorString(status));
  }
  amgrad::require(count > 0, where, "no CUDA device is present");
}

// A member that checks for a device when constructed, placed before members that allocate.
struct device_present {
  explicit device_present(const char* where) { require_device(where); }
};

// What the launchers need to know about the current device, read once.
struct device_properties {
  int device = 0;
  int sm_count = 0;
  int max_shared_per_block = 0;  // with the opt-in (cudaFuncAttributeMaxDynamicSharedMemorySize)
  int max_shared_per_sm = 0;

  static device_properties current(const char* where) {
    require_device(where);
    device_properties p;
    AMGRAD_CUDA_CHECK(cudaGetDevice(&p.device));
    AMGRAD_CUDA_CHECK(cudaDeviceGetAttribute(&p.sm_count, cudaDevAttrMultiProcessorCount, p.device));
    AMGRAD_CUDA_CHECK(cudaDeviceGetAttribute(&p.max_shared_per_block,
                                             cudaDevAttrMaxSharedMemoryPerBlockOptin, p.device));
    AMGRAD_CUDA_CHECK(cudaDeviceGetAttribute(&p.max_shared_per_sm,
                                             cudaDevAttrMaxSharedMemoryPerMultiprocessor, p.device));
    return p;
  }
};

}  // namespace amgrad::kernel::device
