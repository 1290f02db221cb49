#pragma once
// Host backward kernels, prepared once per gradient scheme.
//   - Separable schemes (STE, LUT-1D): the elementwise table map g(B) or g(A), then a float GEMM
//     through OpenBLAS: dA = dY . g_a(B)^T, dB = g_b(A)^T . dY.
//   - Full tables (LUT-2D): the row table over the gradient table. With VBMI, over the int16 x16
//     fixed-point table (as the published CUDA code stores it), within |dA - exact| <=
//     sum_j |dY[i][j]| / 32 plus float rounding; without VBMI, or when a gradient does not fit
//     int16 at x16, over the float table.
// dB runs the dA kernel on the transposed problem: dB^T = dY^T (.) G_b^T[B^T][A^T].
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "amgrad/gradient/scheme.hpp"
#include "amgrad/kernel/host/blas.hpp"
#include "amgrad/kernel/host/detail/avx512_vbmi.hpp"
#include "amgrad/kernel/host/row_table.hpp"
#include "amgrad/kernel/host/threading.hpp"

namespace amgrad::kernel::host {
inline namespace AMGRAD_HOST_ABI {

namespace detail {

template <class T>
matrix_view<T> row_range(matrix_view<T> m, std::size_t r0, std::size_t r1) {
  return {m.data + static_cast<std::ptrdiff_t>(r0) * m.row_stride, r1 - r0, m.cols, m.row_stride,
          m.col_stride};
}

// Whether every entry survives the x16 int16 conversion (to_fixed_point would throw otherwise).
inline bool fits_fixed_point(const gradient_table& g, double scale) {
  return std::all_of(g.values().begin(), g.values().end(), [&](float v) {
    const double x = std::nearbyint(static_cast<double>(v) * scale);
    return std::isfinite(x) && x >= -32768.0 && x <= 32767.0;
  });
}

inline std::vector<line> fixed_point_planes(const gradient_table& g, double scale, bool transpose) {
  const auto fixed = to_fixed_point(g, scale);
  std::vector<std::int16_t> v = transpose ? transposed_values(fixed) : fixed.values();
  std::vector<std::uint16_t> bits(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) bits[i] = static_cast<std::uint16_t>(v[i]);
  return byte_planes(bits.data(), g.format().bits);
}

// Every backward pass checks the same things: the shapes of A, B, dY and the gradient of A
// (for_a) or of B, and that A and B hold codes of the table's width (a wider one would read
// past the tables).
inline void require_backward_operands(const char* where, matrix_view<const code_t> a,
                                      matrix_view<const code_t> b, matrix_view<const float> dy,
                                      matrix_view<float> out, int bits, bool for_a) {
  if (for_a)
    amgrad::detail::require_da_shapes(where, a, b, dy, out);
  else
    amgrad::detail::require_db_shapes(where, a, b, dy, out);
  amgrad::detail::require_codes(where, "A", a, bits);
  amgrad::detail::require_codes(where, "B", b, bits);
}

// Splits [0, n) into at most `parts` nearly equal blocks of at least `grain`.
inline std::size_t block_count(std::size_t n, int parts, std::size_t grain) {
  return std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(parts),
                                                         (n + grain - 1) / grain));
}

}  // namespace detail

enum class backward_path { fixed_point_vbmi, float_table };

// Gradient tables of any scheme: dA, dB through the full 2-D tables.
class backward_table_kernel {
 public:
  static constexpr double fixed_point_scale = 16.0;

  explicit backward_table_kernel(gradient_tables g, int threads = 0, bool allow_fixed_point = true)
      : g_(std::move(g)),
        db_t_(detail::transposed_values(g_.db)),
        threads_(threads) {
#if AMGRAD_HAS_AVX512VBMI
    fixed_ = allow_fixed_point && detail::fits_fixed_point(g_.da, fixed_point_scale) &&
             detail::fits_fixed_point(g_.db, fixed_point_scale);
    if (fixed_) {
      // Each pass needs its table both ways: rows by the row operand's code (dot form) and by
      // the panel operand's code (sweep form, for narrow reductions).
      da_planes_ = detail::fixed_point_planes(g_.da, fixed_point_scale, false);
      da_planes_t_ = detail::fixed_point_planes(g_.da, fixed_point_scale, true);
      db_planes_ = detail::fixed_point_planes(g_.db, fixed_point_scale, false);
      db_planes_t_ = detail::fixed_point_planes(g_.db, fixed_point_scale, true);
    }
#else
    (void)allow_fixed_point;
#endif
  }

  void da(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    detail::require_backward_operands("amgrad::kernel::host::backward_table_kernel::da", a, b, dy,
                                      out, g_.da.format().bits, true);
    if (out.rows == 0 || out.cols == 0) return;
    const auto panel = detail::contiguous_panel(b);
    run(g_.da.data(), da_planes_, da_planes_t_, a, panel.data, panel.ld, dy, out);
  }

  void db(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    detail::require_backward_operands("amgrad::kernel::host::backward_table_kernel::db", a, b, dy,
                                      out, g_.da.format().bits, false);
    if (out.rows == 0 || out.cols == 0) return;
    const auto panel = detail::contiguous_panel(a.transposed());
    run(db_t_.data(), db_planes_t_, db_planes_, b.transposed(), panel.data, panel.ld,
        dy.transposed(), out.transposed());
  }

  backward_path path() const {
    return fixed_ ? backward_path::fixed_point_vbmi : backward_path::float_table;
  }
  // Whether an output of out_rows rows reduced over `width` columns of dY runs in the sweep form
  // (dA: out_rows = M, width = N; dB: out_rows = N, width = M).
  bool sweeps(std::size_t out_rows, std::size_t width) const {
#if AMGRAD_HAS_AVX512VBMI
    return fixed_ && detail::avx512_vbmi::prefers_sweep(out_rows, width);
#else
    (void)out_rows, (void)width;
    return false;
#endif
  }
  int threads() const { return threads_; }
  void set_threads(int threads) { threads_ = threads; }

 private:
  // out (R x K) = dy (R x C) (.) G[rows (R x K)][panel (K x C)]
  void run(const float* table, [[maybe_unused]] const std::vector<detail::line>& planes,
           [[maybe_unused]] const std::vector<detail::line>& planes_by_panel,
           matrix_view<const code_t> rows, const code_t* panel, std::size_t ld,
           matrix_view<const float> dy, matrix_view<float> out) const {
    std::vector<float> dy_copy;
    const float* d = dy.data;
    std::size_t d_ld = static_cast<std::size_t>(dy.row_stride);
    if (dy.col_stride != 1) {
      dy_copy = detail::contiguous_floats(dy);
      d = dy_copy.data();
      d_ld = dy.cols;
    }
    const int used = resolve_threads(threads_);
#if AMGRAD_HAS_AVX512VBMI
    if (sweeps(out.rows, dy.cols)) {
      const auto rows_t = detail::contiguous_panel(rows.transposed());
      detail::avx512_vbmi::gradient_sweep(planes_by_panel.data(), g_.da.format().bits,
                                          rows_t.data, rows_t.ld, panel, ld, d, d_ld, dy.cols,
                                          out, static_cast<float>(1.0 / fixed_point_scale), used);
      return;
    }
    if (fixed_) {
      detail::avx512_vbmi::gradient_dot(planes.data(), g_.da.format().bits, rows, panel, ld, d,
                                        d_ld, dy.cols, out,
                                        static_cast<float>(1.0 / fixed_point_scale), used);
      return;
    }
#endif
    const std::size_t side = static_cast<std::size_t>(g_.da.side());
    const std::size_t blocks = (out.rows + 7) / 8;
    detail::parallel_for(blocks, used, [&](std::size_t blk, int) {
      detail::gradient_dot_rows(table, side, rows, panel, ld, d, d_ld, dy.cols, out, blk * 8,
                                std::min(out.rows, blk * 8 + 8));
    });
  }

  gradient_tables g_;
  std::vector<float> db_t_;  // G_b transposed: [b][a]
  std::vector<detail::line> da_planes_, da_planes_t_, db_planes_, db_planes_t_;
  bool fixed_ = false;
  int threads_;
};

// Separable schemes (STE, LUT-1D): an elementwise map then a float GEMM. The GEMM is split over
// row blocks on the kernel's threads, each calling OpenBLAS single-threaded (one runtime).
class backward_separable_kernel {
 public:
  explicit backward_separable_kernel(const separable_gradients& g, int threads = 0)
      : g_(g), threads_(threads) {}

  // dA (M x K) = dY (M x N) . g_a(B)^T, g_a(B) being K x N.
  void da(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    detail::require_backward_operands("amgrad::kernel::host::backward_separable_kernel::da", a, b,
                                      dy, out, g_.format.bits, true);
    if (out.rows == 0 || out.cols == 0) return;
    const std::size_t depth = b.rows, width = b.cols;
    std::vector<float> mapped(depth * width);
    const int used = resolve_threads(threads_);
    blas::scoped_threads single(1);
    detail::parallel_for(detail::block_count(depth, used, 64), used, [&](std::size_t blk, int) {
      const std::size_t parts = detail::block_count(depth, used, 64);
      const std::size_t k0 = depth * blk / parts, k1 = depth * (blk + 1) / parts;
      for (std::size_t k = k0; k < k1; ++k)
        for (std::size_t j = 0; j < width; ++j) mapped[k * width + j] = g_.da_of_b[b(k, j)];
    });
    const auto mapped_t = row_major<const float>(mapped.data(), depth, width).transposed();
    const std::size_t parts = detail::block_count(out.rows, used, 32);
    detail::parallel_for(parts, used, [&](std::size_t blk, int) {
      const std::size_t r0 = out.rows * blk / parts, r1 = out.rows * (blk + 1) / parts;
      blas::gemm(detail::row_range(dy, r0, r1), mapped_t, detail::row_range(out, r0, r1));
    });
  }

  // dB (K x N) = g_b(A)^T . dY; each thread maps its own columns of g_b(A) (M x K, row-major,
  // so the map reads and writes contiguous runs) and hands them to BLAS as a transposed view.
  void db(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    detail::require_backward_operands("amgrad::kernel::host::backward_separable_kernel::db", a, b,
                                      dy, out, g_.format.bits, false);
    if (out.rows == 0 || out.cols == 0) return;
    const std::size_t depth = a.cols, batch = a.rows;
    std::vector<float> mapped(batch * depth);  // M x K
    const int used = resolve_threads(threads_);
    blas::scoped_threads single(1);
    const std::size_t parts = detail::block_count(depth, used, 32);
    detail::parallel_for(parts, used, [&](std::size_t blk, int) {
      const std::size_t k0 = depth * blk / parts, k1 = depth * (blk + 1) / parts;
      for (std::size_t i = 0; i < batch; ++i)
        for (std::size_t k = k0; k < k1; ++k) mapped[i * depth + k] = g_.db_of_a[a(i, k)];
      const matrix_view<const float> lhs{mapped.data() + k0, k1 - k0, batch, 1,
                                         static_cast<std::ptrdiff_t>(depth)};
      blas::gemm(lhs, dy, detail::row_range(out, k0, k1));
    });
  }

  int threads() const { return threads_; }
  void set_threads(int threads) { threads_ = threads; }

 private:
  separable_gradients g_;
  int threads_;
};

}  // namespace AMGRAD_HOST_ABI
}  // namespace amgrad::kernel::host
