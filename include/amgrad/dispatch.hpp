#pragma once
// Kernel selection, in one place: amgrad::kernels<Backend, Scheme> is what an appmult runs for a
// backend and a gradient scheme. The primary template is the unsupported case and says why.
//
//   backend   forward                        backward (table scheme)   backward (separable)
//   host      VBMI / portable row table      16-bit table GEMM         map + BLAS sgemm
//   device    shared-memory table GEMM       shared-memory table GEMM  map + cuBLAS sgemm
//   generic   Thrust for_each                Thrust for_each           Thrust for_each (tables)
#include <concepts>
#include <cstdint>
#include <type_traits>

#include "amgrad/backend.hpp"
#include "amgrad/concepts.hpp"
#include "amgrad/config.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/table/gradient_tables.hpp"

#if AMGRAD_HAS_BLAS
#include "amgrad/kernel/host/backward.hpp"
#include "amgrad/kernel/host/forward.hpp"
#endif

#if AMGRAD_HAS_THRUST
#include <thrust/execution_policy.h>

#include "amgrad/kernel/generic/kernels.hpp"
#endif
#if AMGRAD_HAS_CUDA_COMPILER
#include <thrust/count.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/system/cuda/execution_policy.h>

#include "amgrad/kernel/device/backward.cuh"
#include "amgrad/kernel/device/forward.cuh"
#endif

namespace amgrad {
namespace detail {

template <class>
inline constexpr bool unsupported_backend = false;

// What a scheme hands a backward kernel: the one-operand factors of a separable scheme (a map
// and a GEMM), else the full tables.
template <class Scheme>
auto kernel_gradients(const Scheme& scheme, const product_table& lut) {
  if constexpr (separable_scheme<Scheme>)
    return scheme.factors(lut);
  else
    return scheme.tables(lut);
}

}  // namespace detail

template <class Backend, class Scheme>
class kernels {
  static_assert(detail::unsupported_backend<Backend>,
                "amgrad::appmult: no kernels for this backend here. amgrad::host needs cblas.h "
                "(link amgrad::host); amgrad::device needs nvcc; amgrad::generic needs nvcc, or "
                "THRUST_DEVICE_SYSTEM defined (OMP, CPP) with Thrust's headers on the include path");
};

// ---- host ---------------------------------------------------------------------------------------

#if AMGRAD_HAS_BLAS
template <class Scheme>
class kernels<host, Scheme> {
 public:
  using backward_kernel = std::conditional_t<separable_scheme<Scheme>,
                                             kernel::host::backward_separable_kernel,
                                             kernel::host::backward_table_kernel>;

  kernels(const product_table& lut, const Scheme& scheme, host backend)
      : forward_(lut, backend.threads),
        backward_(detail::kernel_gradients(scheme, lut), backend.threads) {}

  template <class Acc>
  void forward(matrix_view<const code_t> a, matrix_view<const code_t> b,
               matrix_view<Acc> y) const {
    forward_(a, b, y);
  }
  void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da) const {
    backward_.da(a, b, dy, da);
  }
  void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db) const {
    backward_.db(a, b, dy, db);
  }

  void set_threads(int threads) {
    forward_.set_threads(threads);
    backward_.set_threads(threads);
  }
  const kernel::host::forward_kernel& forward_kernel() const { return forward_; }
  const backward_kernel& backward() const { return backward_; }

 private:
  kernel::host::forward_kernel forward_;
  backward_kernel backward_;
};
#endif

// ---- generic (Thrust) ---------------------------------------------------------------------------

#if AMGRAD_HAS_THRUST
template <class Scheme>
class kernels<generic, Scheme> {
 public:
  kernels(const product_table& lut, const Scheme& scheme, generic)
      : tables_(lut, scheme.tables(lut)) {}

  // `exec` is any execution policy of Thrust's device system (thrust::device by default).
  template <class Acc, class Policy = decltype(::thrust::device)>
  void forward(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<Acc> y,
               const Policy& exec = ::thrust::device) const {
    tables_.forward(exec, a, b, y);
  }
  template <class Policy = decltype(::thrust::device)>
  void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da,
                   const Policy& exec = ::thrust::device) const {
    tables_.backward_da(exec, a, b, dy, da);
  }
  template <class Policy = decltype(::thrust::device)>
  void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db,
                   const Policy& exec = ::thrust::device) const {
    tables_.backward_db(exec, a, b, dy, db);
  }

 private:
  kernel::generic::tables tables_;
};
#endif

// ---- device (CUDA) ----------------------------------------------------------------------------------

#if AMGRAD_HAS_CUDA_COMPILER
namespace detail {
struct code_out_of_range {
  matrix_view<const code_t> view;
  int size;
  AMGRAD_HOST_DEVICE bool operator()(std::int64_t index) const {
    const auto cols = static_cast<std::int64_t>(view.cols);
    return view(static_cast<std::size_t>(index / cols), static_cast<std::size_t>(index % cols)) >=
           size;
  }
};
}  // namespace detail

// Tables are uploaded once, at construction; every call goes to the caller's stream.
template <class Scheme>
class kernels<device, Scheme> {
 public:
  using backward_kernel = std::conditional_t<separable_scheme<Scheme>,
                                             kernel::device::backward_separable_kernel,
                                             kernel::device::backward_table_kernel>;

  kernels(const product_table& lut, const Scheme& scheme, device)
      : bits_(lut.format().bits), forward_(lut), backward_(detail::kernel_gradients(scheme, lut)) {}

  // int32 output only; throws if K * max|AM| could overflow it.
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

  // Throws if a code of `m` (device memory) is not a valid code of the table's width.
  // SYNCHRONISES `stream` (it returns a count to the host); a no-op for 8-bit operands.
  void check_codes(const char* what, matrix_view<const code_t> m,
                   cudaStream_t stream = nullptr) const {
    if (bits_ >= 8) return;
    const auto n = static_cast<std::int64_t>(m.rows * m.cols);
    if (n == 0) return;
    const auto bad = ::thrust::count_if(::thrust::cuda::par.on(stream),
                                        ::thrust::counting_iterator<std::int64_t>(0),
                                        ::thrust::counting_iterator<std::int64_t>(n),
                                        detail::code_out_of_range{m, 1 << bits_});
    amgrad::require(bad == 0, "amgrad::appmult::check_codes", what, " holds ", bad,
                    " codes that are not ", bits_, "-bit codes");
  }

  const kernel::device::forward_kernel& forward_kernel() const { return forward_; }

 private:
  int bits_;
  kernel::device::forward_kernel forward_;
  backward_kernel backward_;
};
#endif

}  // namespace amgrad
