#pragma once
// The CUDA path of the Torch layer. The Torch layer is compiled by the host compiler against a
// LibTorch that may have no CUDA at all (Debian's has none), and the device kernels need nvcc, so
// the two meet here, behind a virtual interface that includes neither Torch nor CUDA headers:
// one nvcc-compiled source of the target includes amgrad/torch/device_gemm.cuh, which registers
// the factory of the device AM-GEMMs at load time. Without it a CUDA tensor gets a clear error.
//
// What runs where on a CUDA tensor: the AM-GEMMs (the O(MKN) forward and both backward
// products) run on the tensor's device, on the stream the caller names (PyTorch's current one);
// quantisation and the O(MK) zero-point and clipping terms run in the host ops, so the
// operands are staged through host memory. The tables go up once per device and backend.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <variant>

#include "amgrad/error.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/operand.hpp"
#include "amgrad/table/gradient_tables.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad::nn {

// Where a layer's AM-GEMMs run: the host, or CUDA device `device` on `stream` (a cudaStream_t
// carried as an integer so that this header needs no CUDA; 0 is the legacy default stream).
struct execution {
  int device = -1;
  std::uintptr_t stream = 0;
  bool on_device() const { return device >= 0; }
};

// What a backend's scheme hands the device backward kernels: the one-operand factors of a
// separable scheme, else the full tables (dispatch.hpp's kernel_gradients, as a value).
using kernel_gradients = std::variant<gradient_tables, separable_gradients>;

// The backward kernel that such gradients make: SeparableKernel over the factors, else
// TableKernel over the tables (for any backend's pair of kernel types).
template <class TableKernel, class SeparableKernel>
using backward_kernel_for = std::variant<TableKernel, SeparableKernel>;

template <class TableKernel, class SeparableKernel>
backward_kernel_for<TableKernel, SeparableKernel> make_backward_kernel(const kernel_gradients& g) {
  using result = backward_kernel_for<TableKernel, SeparableKernel>;
  if (const auto* factors = std::get_if<separable_gradients>(&g))
    return result(std::in_place_type<SeparableKernel>, *factors);
  return result(std::in_place_type<TableKernel>, std::get<gradient_tables>(g));
}

// One backend's three AM-GEMMs, wherever they run: the host engine (host_gemm) or one CUDA
// device (tables uploaded at construction; each call stages the host operands through device
// memory on `stream` and returns when the results are back on the host). The ops run on this
// one interface (gemm_engine) in both places, so each op is compiled once per backend.
// Calls on one object may come from several threads.
class gemm_kernels {
 public:
  virtual ~gemm_kernels() = default;
  virtual void forward(matrix_view<const code_t> a, matrix_view<const code_t> b,
                       matrix_view<std::int32_t> y, std::uintptr_t stream) const = 0;
  virtual void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                           matrix_view<const float> dy, matrix_view<float> da,
                           std::uintptr_t stream) const = 0;
  virtual void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                           matrix_view<const float> dy, matrix_view<float> db,
                           std::uintptr_t stream) const = 0;
};

// A host engine (concepts.hpp's engine: an appmult) behind gemm_kernels; the stream is unused.
template <class Engine>
class host_gemm final : public gemm_kernels {
 public:
  explicit host_gemm(const Engine& engine) : engine_(&engine) {}
  void forward(matrix_view<const code_t> a, matrix_view<const code_t> b,
               matrix_view<std::int32_t> y, std::uintptr_t) const override {
    engine_->forward(a, b, y);
  }
  void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da,
                   std::uintptr_t) const override {
    engine_->backward_da(a, b, dy, da);
  }
  void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db,
                   std::uintptr_t) const override {
    engine_->backward_db(a, b, dy, db);
  }

 private:
  const Engine* engine_;
};

using device_gemm_factory = std::unique_ptr<const gemm_kernels> (*)(const product_table& lut,
                                                                   const kernel_gradients& grads,
                                                                   int device);

}  // namespace amgrad::nn

namespace amgrad::detail {
inline nn::device_gemm_factory& device_gemm_factory_slot() {
  static nn::device_gemm_factory factory = nullptr;
  return factory;
}
}  // namespace amgrad::detail

namespace amgrad::nn {

// Installs the factory of device AM-GEMMs (device_gemm.cuh does, for the build's CUDA path; tests
// install an emulation) and returns the previous one. Not while layers are running.
inline device_gemm_factory set_device_gemm_factory(device_gemm_factory factory) {
  auto& slot = amgrad::detail::device_gemm_factory_slot();
  const auto previous = slot;
  slot = factory;
  return previous;
}

// Whether this build can run the layers on CUDA tensors.
inline bool has_device_path() { return amgrad::detail::device_gemm_factory_slot() != nullptr; }

// A backend's device AM-GEMMs, made on first use on each device and kept: the tables go up once
// per device however many layers and steps use them.
class device_gemms {
 public:
  template <class MakeGradients>
  const gemm_kernels& on(int device, const product_table& lut,
                        const MakeGradients& make_gradients) const {
    constexpr const char* where = "amgrad::nn (CUDA tensor)";
    const auto factory = amgrad::detail::device_gemm_factory_slot();
    amgrad::require(factory != nullptr, where,
                    "this build of amgrad has no CUDA path for the Torch layers: build it with "
                    "AMGRAD_ENABLE_CUDA=ON (nvcc) so that amgrad/torch/device_gemm.cuh is compiled "
                    "in, or move the module and its input to the CPU with .to('cpu')");
    amgrad::require(device >= 0, where, "device index ", device, " is not a CUDA device");
    const std::lock_guard lock(mutex_);
    auto& slot = per_device_[device];
    if (!slot) slot = factory(lut, make_gradients(), device);
    return *slot;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::map<int, std::unique_ptr<const gemm_kernels>> per_device_;
};

// The ops' engine (concepts.hpp) over gemm_kernels: the host ops run their AM-GEMMs wherever
// `gemm` runs them, on `stream`.
template <class Operand>
struct gemm_engine {
  using operand_type = Operand;
  const gemm_kernels* gemm = nullptr;
  std::uintptr_t stream = 0;

  void forward(matrix_view<const code_t> a, matrix_view<const code_t> b,
               matrix_view<std::int32_t> y) const {
    gemm->forward(a, b, y, stream);
  }
  void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da) const {
    gemm->backward_da(a, b, dy, da, stream);
  }
  void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db) const {
    gemm->backward_db(a, b, dy, db, stream);
  }
};

}  // namespace amgrad::nn
