#pragma once
// Host backward kernels, prepared once per gradient scheme.
//   - Separable schemes (STE, LUT-1D): the elementwise table map g(B) or g(A), then a float GEMM
//     through OpenBLAS: dA = dY . g_a(B)^T, dB = g_b(A)^T . dY.
//   - Full tables (LUT-2D): the row table over the gradient table. With VBMI, over the int16 x16
//     fixed-point table (as the published CUDA code stores it), within |dA - exact| <=
//     sum_j |dY[i][j]| / 32 plus float rounding; without VBMI, or when a gradient does not fit
//     int16 at x16, over the float table.
// dB runs the dA kernel on the transposed problem: dB^T = dY^T (.) G_b^T[B^T][A^T]. Each pass
// becomes one detail::gradient_problem where it enters (da, db), and every layer below takes it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "amgrad/table/gradient_tables.hpp"
#include "amgrad/kernel/host/blas.hpp"
#include "amgrad/kernel/host/detail/avx512_vbmi.hpp"
#include "amgrad/kernel/host/detail/row_table.hpp"
#include "amgrad/kernel/host/threading.hpp"

namespace amgrad::detail {
inline namespace AMGRAD_HOST_ABI {

template <class T>
matrix_view<T> row_range(matrix_view<T> m, std::size_t r0, std::size_t r1) {
  return {m.data + static_cast<std::ptrdiff_t>(r0) * m.row_stride, r1 - r0, m.cols, m.row_stride,
          m.col_stride};
}

// Whether every entry survives the x16 int16 conversion (to_fixed_point would throw otherwise).
inline bool fits_fixed_point(const gradient_table& g, double scale) {
  return std::all_of(g.values().begin(), g.values().end(),
                     [&](float v) { return amgrad::fits_fixed_point(v, scale); });
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

// A LUT-2D pass's tables, indexed [row operand's code][panel operand's code]: float entries
// and, in fixed point, the x16 int16 entries as byte planes by the row code (dot form) and by the
// panel code (sweep form).
struct gradient_pass_tables {
  std::vector<float> values;
  std::vector<line> planes, planes_t;
};

// Splits [0, n) into at most `parts` nearly equal blocks of at least `grain`.
inline std::size_t block_count(std::size_t n, int parts, std::size_t grain) {
  return std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(parts),
                                                         (n + grain - 1) / grain));
}

}  // namespace AMGRAD_HOST_ABI
}  // namespace amgrad::detail

namespace amgrad::kernel::host {
inline namespace AMGRAD_HOST_ABI {

enum class backward_path { fixed_point_vbmi, float_table };

// Gradient tables of any scheme: dA, dB through the full 2-D tables.
class backward_table_kernel {
 public:
  explicit backward_table_kernel(gradient_tables g, int threads = 0, bool allow_fixed_point = true)
      : bits_(g.da.format().bits), threads_(threads) {
    // dA looks G_a up as [A's code][B's code]; dB, run as the transposed problem, looks G_b up
    // as [B's code][A's code].
    da_.values = g.da.values();
    db_.values = detail::transposed_values(g.db);
#if AMGRAD_HAS_AVX512VBMI
    fixed_ = allow_fixed_point && detail::fits_fixed_point(g.da, fixed_point_scale) &&
             detail::fits_fixed_point(g.db, fixed_point_scale);
    if (fixed_) {
      da_.planes = detail::fixed_point_planes(g.da, fixed_point_scale, false);
      da_.planes_t = detail::fixed_point_planes(g.da, fixed_point_scale, true);
      db_.planes = detail::fixed_point_planes(g.db, fixed_point_scale, true);
      db_.planes_t = detail::fixed_point_planes(g.db, fixed_point_scale, false);
    }
#else
    (void)allow_fixed_point;
#endif
  }

  void da(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    detail::require_backward_operands("amgrad::kernel::host::backward_table_kernel::da", a, b, dy,
                                      out, bits_, true);
    if (out.rows == 0 || out.cols == 0) return;
    run(problem(da_, a, b, dy, out));
  }

  void db(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    detail::require_backward_operands("amgrad::kernel::host::backward_table_kernel::db", a, b, dy,
                                      out, bits_, false);
    if (out.rows == 0 || out.cols == 0) return;
    // dB^T = dY^T (.) G_b^T[B^T][A^T]: the dA pass on the transposed operands.
    run(problem(db_, b.transposed(), a.transposed(), dy.transposed(), out.transposed()));
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
  // The one place a pass becomes the value its kernels take: out (R x K) = dy (R x C) (.)
  // G[rows (R x K)][panel (K x C)], with panel and dy in contiguous rows (copied when not) and,
  // for the sweep form, rows transposed.
  detail::gradient_problem problem(const detail::gradient_pass_tables& g,
                                   matrix_view<const code_t> rows, matrix_view<const code_t> panel,
                                   matrix_view<const float> dy, matrix_view<float> out) const {
    return {.rows = rows,
            .panel = detail::contiguous_panel(panel),
            .dy = detail::contiguous_panel(dy),
            .width = dy.cols,
            .out = out,
            .rows_t = sweeps(out.rows, dy.cols) ? detail::contiguous_panel(rows.transposed())
                                                : detail::code_panel{},
            .table = g.values.data(),
            .side = std::size_t{1} << bits_,
            .planes = g.planes.data(),
            .planes_t = g.planes_t.data(),
            .scale = static_cast<float>(1.0 / fixed_point_scale),
            .bits = bits_,
            .threads = resolve_threads(threads_)};
  }

  void run(const detail::gradient_problem& prob) const {
#if AMGRAD_HAS_AVX512VBMI
    if (sweeps(prob.out.rows, prob.width)) return detail::avx512_vbmi::gradient_sweep(prob);
    if (fixed_) return detail::avx512_vbmi::gradient_dot(prob);
#endif
    detail::portable_gradient(prob);
  }

  detail::gradient_pass_tables da_, db_;
  int bits_;
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
