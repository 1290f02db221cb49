#pragma once
// device::appmult<Model, Operand, Scheme>: the device counterpart of amgrad::appmult. It builds
// the truth table and the gradient estimates from the same policies on the host, uploads them
// once, and runs the device kernels on the caller's stream. Operands, dY and outputs are device
// pointers; shapes are validated at the boundary (on the host, from the views), the contents of
// device memory are not: check_codes does that on request, and says that it synchronises.
#include <cstdint>
#include <type_traits>
#include <utility>

#include <thrust/count.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/system/cuda/execution_policy.h>

#include "amgrad/gradient/scheme.hpp"
#include "amgrad/kernel/device/backward.cuh"
#include "amgrad/kernel/device/forward.cuh"
#include "amgrad/multiplier/model.hpp"
#include "amgrad/table/product_table.hpp"

namespace amgrad::device {
namespace detail {

template <class Scheme>
auto make_backward_kernel(const Scheme& scheme, const product_table& lut) {
  if constexpr (Scheme::is_separable)
    return kernel::device::backward_separable_kernel(scheme.factors(lut));
  else
    return kernel::device::backward_table_kernel(scheme.tables(lut));
}

struct code_out_of_range {
  matrix_view<const code_t> view;
  int size;
  AMGRAD_HOST_DEVICE bool operator()(std::int64_t index) const {
    const auto cols = static_cast<std::int64_t>(view.cols);
    return view(static_cast<std::size_t>(index / cols), static_cast<std::size_t>(index % cols)) >= size;
  }
};

}  // namespace detail

template <class Model, class Operand, class Scheme>
class appmult {
 public:
  using model_type = Model;
  using operand_type = Operand;
  using scheme_type = Scheme;

  explicit appmult(Model model = Model{}, Scheme scheme = Scheme{})
      : model_(std::move(model)),
        scheme_(std::move(scheme)),
        lut_(make_product_table<Operand>(model_)),
        forward_(lut_),
        backward_(detail::make_backward_kernel(scheme_, lut_)) {
    check_model<Model, Operand>();
    check_scheme<Scheme>();
  }

  const product_table& lut() const { return lut_; }
  const kernel::device::forward_kernel& forward_kernel() const { return forward_; }

  // Y = sum_k AM(A[i][k], B[k][j]) in int32; throws if K * max|AM| could overflow it.
  void forward(matrix_view<const code_t> a, matrix_view<const code_t> b,
               matrix_view<std::int32_t> y, cudaStream_t stream = nullptr) const {
    forward_(a, b, y, stream);
  }

  void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da,
                   cudaStream_t stream = nullptr) const {
    backward_.da(a, b, dy, da, stream);
  }

  void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db,
                   cudaStream_t stream = nullptr) const {
    backward_.db(a, b, dy, db, stream);
  }

  // Throws if a code of `m` (device memory) is not a valid Operand code. SYNCHRONISES `stream`
  // (it returns a count to the host); a no-op for 8-bit operands, where every byte is valid.
  void check_codes(const char* what, matrix_view<const code_t> m,
                   cudaStream_t stream = nullptr) const {
    if constexpr (Operand::bits < 8) {
      const auto n = static_cast<std::int64_t>(m.rows * m.cols);
      if (n == 0) return;
      const auto bad = thrust::count_if(thrust::cuda::par.on(stream),
                                        thrust::counting_iterator<std::int64_t>(0),
                                        thrust::counting_iterator<std::int64_t>(n),
                                        detail::code_out_of_range{m, Operand::size});
      amgrad::detail::require(bad == 0, "amgrad::device::appmult::check_codes", what, " holds ",
                              bad, " codes that are not ", Operand::bits, "-bit codes");
    }
  }

 private:
  Model model_;
  Scheme scheme_;
  product_table lut_;
  kernel::device::forward_kernel forward_;
  decltype(detail::make_backward_kernel(std::declval<const Scheme&>(),
                                        std::declval<const product_table&>())) backward_;
};

// The name that says where it runs, for code that also uses amgrad::appmult.
template <class Model, class Operand, class Scheme>
using appmult_device = appmult<Model, Operand, Scheme>;

}  // namespace amgrad::device
