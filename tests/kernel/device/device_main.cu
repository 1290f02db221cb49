// doctest main of the CUDA tests: without a usable device the tests cannot run, and CTest must
// report them as skipped, never as passed, so exit with the SKIP_RETURN_CODE (77).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "amgrad/kernel/device/forward.cuh"
#include "amgrad/multiplier/exact.hpp"
#include "amgrad/multiplier/product_table.hpp"

int main(int argc, char** argv) {
  if (amgrad::kernel::device::device_count() == 0) {
    // The one thing checkable without a GPU: preparing a kernel throws a clear amgrad::error.
    try {
      const amgrad::kernel::device::forward_kernel kernel(
          amgrad::make_product_table<amgrad::u4>(amgrad::exact{}));
      std::printf("FAILED: a device kernel was prepared without a device\n");
      return 1;
    } catch (const amgrad::error& e) {
      std::printf("without a device: %s\n", e.what());
      if (std::string(e.what()).find("CUDA device") == std::string::npos) {
        std::printf("FAILED: the error does not say that no CUDA device is present\n");
        return 1;
      }
    }
    std::printf("no CUDA device is present: the device tests are skipped\n");
    return 77;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
    std::printf("device 0: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor,
                prop.multiProcessorCount);
  doctest::Context context(argc, argv);
  return context.run();
}
