// The CUDA half of the extension (built with AMGRAD_ENABLE_CUDA): the staged device AM-GEMMs,
// registered when the module loads, so that the modules run on CUDA tensors. No Torch here.
#include "amgrad/torch/device_gemm.cuh"

namespace {
// Referenced, so that no linker drops the registration.
[[maybe_unused]] const bool registered = amgrad::detail::device_gemm_registered;
}  // namespace
