#pragma once
// Kernel selection, in one place: amgrad::kernels<Backend, Scheme> is what an appmult runs for a
// backend and a gradient scheme. The primary template is the unsupported case and says why.
//
//   backend   forward                        backward (table scheme)   backward (separable)
//   host      VBMI / portable row table      16-bit table GEMM         map + BLAS sgemm
//   device    shared-memory table GEMM       shared-memory table GEMM  map + cuBLAS sgemm
//   generic   Thrust for_each                Thrust for_each           Thrust for_each (tables)
// Low-rank schemes (lut2d_lowrank<R>) on the host and the device: the table kernel over the rank-R
// tables or R stacked GEMMs (BLAS / cuBLAS), whichever is estimated cheaper per call
// (kernels<host, low_rank_scheme>, kernels<device, low_rank_scheme>).
#include <concepts>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "amgrad/backend.hpp"
#include "amgrad/concepts.hpp"
#include "amgrad/config.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/table/gradient_tables.hpp"

#if AMGRAD_HAS_BLAS
#include "amgrad/kernel/host/backward.hpp"
#include "amgrad/kernel/host/backward_lowrank.hpp"
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
#include "amgrad/kernel/device/backward_lowrank.cuh"
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
namespace detail {
// The forward of every host specialization: one prepared table kernel.
class host_forward {
 public:
  host_forward(const product_table& lut, host backend) : forward_(lut, backend.threads) {}

  template <class Acc>
  void forward(matrix_view<const code_t> a, matrix_view<const code_t> b,
               matrix_view<Acc> y) const {
    forward_(a, b, y);
  }
  const kernel::host::forward_kernel& forward_kernel() const { return forward_; }

 protected:
  kernel::host::forward_kernel forward_;
};
}  // namespace detail

template <class Scheme>
class kernels<host, Scheme> : public detail::host_forward {
 public:
  using backward_kernel = std::conditional_t<separable_scheme<Scheme>,
                                             kernel::host::backward_separable_kernel,
                                             kernel::host::backward_table_kernel>;

  kernels(const product_table& lut, const Scheme& scheme, host backend)
      : host_forward(lut, backend),
        backward_(detail::kernel_gradients(scheme, lut), backend.threads) {}

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
  const backward_kernel& backward() const { return backward_; }

 private:
  backward_kernel backward_;
};
#endif

// ---- host, low-rank schemes ------------------------------------------------------------------
// A low_rank_scheme (lut2d_lowrank<R>) has two host kernels for one gradient: the table kernel
// over the expanded rank-R tables, and R stacked float GEMMs. Each backward call takes the one
// with the lower estimated cost (detail::prefers_low_rank), unless the scheme's `path` forces one.

#if AMGRAD_HAS_BLAS
namespace detail {

// Estimated seconds of one backward pass (an M x N x K problem: M*N*K multiply-adds):
//   GEMM path:  R*M*N*K at the sgemm rate, plus the maps (R values per entry of the mapped
//               operand) and the combine (R per output entry);
//   table path: M*N*K lookups at the table kernel's rate (VBMI int16 row table, 8-bit or <= 7-bit
//               codes; else the portable float row table), plus one pass over the operand and the
//               output at the map rate (what makes it slow at thin shapes, N = 16).
// The defaults are this host's single-thread rates in one run of bench/bench_kernels.cpp
// (docs/hws-and-lowrank.md): sgemm 62 G-MAC/s, the low-rank maps and combine ~0.5 G values/s
// (memory-bound on the K*R-wide intermediate), the LUT-2D table kernel 12 G lookups/s at 8 bits
// (the 7-bit rate scaled by DESIGN.md's 43/24), the portable float table 3.2 G/s.
struct low_rank_cost_model {
  double gemm_macs_per_s = 60e9;
  double map_values_per_s = 0.5e9;
  double table_lookups_per_s_vbmi8 = 12e9;
  double table_lookups_per_s_vbmi7 = 21e9;
  double table_lookups_per_s_portable = 3.2e9;
};

// Whether the GEMM path is estimated to be cheaper for dA (mapped = K x N, out = M x K) or dB
// (mapped = M x K, out = K x N): `mapped` and `out` are the element counts.
inline bool prefers_low_rank(int rank, int bits, bool vbmi_table, double m, double n, double k,
                             double mapped, double out, const low_rank_cost_model& c = {}) {
  const double gemm = rank * m * n * k / c.gemm_macs_per_s + rank * (mapped + out) / c.map_values_per_s;
  const double rate = !vbmi_table ? c.table_lookups_per_s_portable
                                  : (bits <= 7 ? c.table_lookups_per_s_vbmi7 : c.table_lookups_per_s_vbmi8);
  return gemm < m * n * k / rate + (mapped + out) / c.map_values_per_s;
}

}  // namespace detail

template <class Scheme>
  requires low_rank_scheme<Scheme>
class kernels<host, Scheme> : public detail::host_forward {
 public:
  kernels(const product_table& lut, const Scheme& scheme, host backend)
      : host_forward(lut, backend), path_(scheme.path), bits_(lut.format().bits) {
    const auto factors = scheme.low_rank(lut);
    if (path_ != low_rank_path::table) low_rank_.emplace(factors, backend.threads);
    if (path_ != low_rank_path::gemm) table_.emplace(factors.expand(), backend.threads);
  }

  void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da) const {
    if (uses_low_rank_da(a.rows, dy.cols, a.cols))
      low_rank_->da(a, b, dy, da);
    else
      table_->da(a, b, dy, da);
  }
  void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db) const {
    if (uses_low_rank_db(a.rows, dy.cols, a.cols))
      low_rank_->db(a, b, dy, db);
    else
      table_->db(a, b, dy, db);
  }

  // Which kernel an M x N x K pass (A: M x K, B: K x N) runs on.
  bool uses_low_rank_da(std::size_t m, std::size_t n, std::size_t k) const {
    return uses_low_rank(low_rank_ ? low_rank_->rank_da() : 0, m, n, k, static_cast<double>(k * n),
                         static_cast<double>(m * k));
  }
  bool uses_low_rank_db(std::size_t m, std::size_t n, std::size_t k) const {
    return uses_low_rank(low_rank_ ? low_rank_->rank_db() : 0, m, n, k, static_cast<double>(m * k),
                         static_cast<double>(k * n));
  }

  void set_threads(int threads) {
    forward_.set_threads(threads);
    if (table_) table_->set_threads(threads);
    if (low_rank_) low_rank_->set_threads(threads);
  }

 private:
  bool uses_low_rank(int rank, std::size_t m, std::size_t n, std::size_t k, double mapped,
                     double out) const {
    if (path_ != low_rank_path::automatic) return path_ == low_rank_path::gemm;
    return detail::prefers_low_rank(rank, bits_,
                                     table_->path() == kernel::host::backward_path::fixed_point_vbmi,
                                     static_cast<double>(m), static_cast<double>(n),
                                     static_cast<double>(k), mapped, out);
  }

  low_rank_path path_;
  int bits_;
  std::optional<kernel::host::backward_table_kernel> table_;
  std::optional<kernel::host::backward_low_rank_kernel> low_rank_;
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

// The forward and the code check of every device specialization. Tables are uploaded once, at
// construction; every call goes to the caller's stream.
class device_forward {
 public:
  explicit device_forward(const product_table& lut) : bits_(lut.format().bits), forward_(lut) {}

  // int32 output only; throws if K * max|AM| could overflow it.
  void forward(matrix_view<const code_t> a, matrix_view<const code_t> b,
               matrix_view<std::int32_t> y, cudaStream_t stream = nullptr) const {
    forward_(a, b, y, stream);
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

 protected:
  int bits_;
  kernel::device::forward_kernel forward_;
};
}  // namespace detail

template <class Scheme>
class kernels<device, Scheme> : public detail::device_forward {
 public:
  using backward_kernel = std::conditional_t<separable_scheme<Scheme>,
                                             kernel::device::backward_separable_kernel,
                                             kernel::device::backward_table_kernel>;

  kernels(const product_table& lut, const Scheme& scheme, device)
      : device_forward(lut), backward_(detail::kernel_gradients(scheme, lut)) {}

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

 private:
  backward_kernel backward_;
};

// ---- device, low-rank schemes -----------------------------------------------------------------
// As on the host: the table kernel over the expanded rank-R tables, or the low-rank kernel (R maps
// stacked into one cuBLAS sgemm, kernel/device/backward_lowrank.cuh), per call by estimated cost
// unless the scheme's `path` forces one.

namespace detail {

// Estimated seconds of one device backward pass (an M x N x K problem: M*N*K multiply-adds):
//   GEMM path:  R*M*N*K at the FP32 sgemm rate, plus the R-wide intermediates through memory (the
//               map writes R*mapped floats that the GEMM reads; the GEMM writes R*out floats that
//               the combine reads: 2R(mapped + out) float transfers), plus three launches;
//   table path: M*N*K lookups at the shared-memory table kernel's rate, plus one pass over the
//               mapped operand and the output, plus one launch.
// ESTIMATES, not measurements (no GPU was available when this was written): cuBLAS FP32 sgemm
// (no TF32) ~2.5e13 MAC/s on an H100/H200 (docs/benchmarks.md), the 16-bit table kernel
// ~2.5e12 lookups/s at 8 bits (shared-memory bank conflicts, DESIGN.md section 4) and somewhat
// more at <= 7 bits (a row spans half as many banks), HBM ~1e12 floats/s (4 TB/s), 5 us per
// launch. Refit them from bench/gpu (gpu_bwd_dA/dB/lowrank_r*, against lut2d) once measured.
struct device_low_rank_cost_model {
  double gemm_macs_per_s = 25e12;
  double memory_floats_per_s = 1e12;
  double table_lookups_per_s_8bit = 2.5e12;
  double table_lookups_per_s_7bit = 3.5e12;
  double launch_s = 5e-6;
};

// Whether the GEMM path is estimated to be cheaper for dA (mapped = K x N, out = M x K) or dB
// (mapped = M x K, out = K x N): `mapped` and `out` are the element counts.
inline bool prefers_low_rank_device(int rank, int bits, double m, double n, double k,
                                    double mapped, double out,
                                    const device_low_rank_cost_model& c = {}) {
  const double gemm = rank * m * n * k / c.gemm_macs_per_s +
                      2.0 * rank * (mapped + out) / c.memory_floats_per_s + 3 * c.launch_s;
  const double rate = bits <= 7 ? c.table_lookups_per_s_7bit : c.table_lookups_per_s_8bit;
  return gemm < m * n * k / rate + (mapped + out) / c.memory_floats_per_s + c.launch_s;
}

}  // namespace detail

template <class Scheme>
  requires low_rank_scheme<Scheme>
class kernels<device, Scheme> : public detail::device_forward {
 public:
  kernels(const product_table& lut, const Scheme& scheme, device)
      : device_forward(lut), path_(scheme.path) {
    const auto factors = scheme.low_rank(lut);
    if (path_ != low_rank_path::table) low_rank_.emplace(factors);
    if (path_ != low_rank_path::gemm) table_.emplace(factors.expand());
  }

  void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da,
                   cudaStream_t stream = nullptr) const {
    if (uses_low_rank_da(a.rows, dy.cols, a.cols))
      low_rank_->da(a, b, dy, da, stream);
    else
      table_->da(a, b, dy, da, stream);
  }
  void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db,
                   cudaStream_t stream = nullptr) const {
    if (uses_low_rank_db(a.rows, dy.cols, a.cols))
      low_rank_->db(a, b, dy, db, stream);
    else
      table_->db(a, b, dy, db, stream);
  }

  // Which kernel an M x N x K pass (A: M x K, B: K x N) runs on.
  bool uses_low_rank_da(std::size_t m, std::size_t n, std::size_t k) const {
    return uses_low_rank(low_rank_ ? low_rank_->rank_da() : 0, m, n, k,
                         static_cast<double>(k * n), static_cast<double>(m * k));
  }
  bool uses_low_rank_db(std::size_t m, std::size_t n, std::size_t k) const {
    return uses_low_rank(low_rank_ ? low_rank_->rank_db() : 0, m, n, k,
                         static_cast<double>(m * k), static_cast<double>(k * n));
  }

 private:
  bool uses_low_rank(int rank, std::size_t m, std::size_t n, std::size_t k, double mapped,
                     double out) const {
    if (path_ != low_rank_path::automatic) return path_ == low_rank_path::gemm;
    return detail::prefers_low_rank_device(rank, bits_, static_cast<double>(m),
                                           static_cast<double>(n), static_cast<double>(k),
                                           mapped, out);
  }

  low_rank_path path_;
  std::optional<kernel::device::backward_table_kernel> table_;
  std::optional<kernel::device::backward_low_rank_kernel> low_rank_;
};
#endif

}  // namespace amgrad
