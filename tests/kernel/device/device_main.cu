// doctest main of the CUDA tests: without a usable device the tests cannot run, and CTest must
// report them as skipped, never as passed, so exit with the SKIP_RETURN_CODE (77).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "amgrad/kernel/device/error.cuh"

int main(int argc, char** argv) {
  if (amgrad::kernel::device::device_count() == 0) {
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
