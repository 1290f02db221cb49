#pragma once
// Host backward of a low-rank scheme (gradient/lut2d_lowrank.hpp): R float GEMMs after
// elementwise maps, stacked into one GEMM per block of output rows.
//   dA (M x K): V (K*R x N), V[k*R + r][j] = v_r(B[k][j]);  T = dY . V^T  (M x K*R);
//               dA[i][k] = sum_r u_r(A[i][k]) T[i][k*R + r].
//   dB (K x N): P (M x K*R), P[i][k*R + r] = p_r(A[i][k]);  T = P^T . dY  (K*R x N);
//               dB[k][j] = sum_r q_r(B[k][j]) T[k*R + r][j].
// Threads: blocks of output rows on the kernels' own pool, OpenBLAS single-threaded inside (the
// two-core trap of DESIGN.md section 4).
#include <algorithm>
#include <cstddef>
#include <vector>

#include "amgrad/gradient/lut2d_lowrank.hpp"
#include "amgrad/kernel/host/backward.hpp"
#include "amgrad/kernel/host/blas.hpp"
#include "amgrad/kernel/host/threading.hpp"

namespace amgrad::kernel::host {
inline namespace AMGRAD_HOST_ABI {

class backward_low_rank_kernel {
 public:
  explicit backward_low_rank_kernel(const low_rank_gradients& g, int threads = 0)
      : bits_(g.format.bits), threads_(threads), da_(interleave(g.da, g.format.size())),
        db_(interleave(g.db, g.format.size())) {}

  // dA = sum_r u_r(A) (.) (dY . v_r(B)^T)
  void da(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    detail::require_backward_operands("amgrad::kernel::host::backward_low_rank_kernel::da", a, b,
                                      dy, out, bits_, true);
    if (out.rows == 0 || out.cols == 0) return;
    const std::size_t depth = b.rows, width = b.cols, rank = da_.rank;
    if (rank == 0) return zero(out);
    std::vector<float> v(depth * rank * width);  // row k*R + r: v_r(B[k][.])
    const int used = resolve_threads(threads_);
    blas::scoped_threads single(1);
    const std::size_t kparts = detail::block_count(depth, used, 64);
    detail::parallel_for(kparts, used, [&](std::size_t blk, int) {
      const std::size_t k0 = depth * blk / kparts, k1 = depth * (blk + 1) / kparts;
      for (std::size_t k = k0; k < k1; ++k)
        for (std::size_t r = 0; r < rank; ++r) {
          const float* f = da_.second.data() + r * da_.n;
          float* row = v.data() + (k * rank + r) * width;
          for (std::size_t j = 0; j < width; ++j) row[j] = f[b(k, j)];
        }
    });
    const auto v_t = row_major<const float>(v.data(), depth * rank, width).transposed();
    const std::size_t parts = detail::block_count(out.rows, used, 32);
    // Rows per GEMM: the M x K*R intermediate kept to ~1 Mi floats, at least 256 rows (thinner
    // GEMMs lose more than the smaller intermediate saves).
    const std::size_t chunk = std::max<std::size_t>(256, (std::size_t{1} << 20) / (depth * rank));
    detail::parallel_for(parts, used, [&](std::size_t blk, int) {
      const std::size_t b0 = out.rows * blk / parts, b1 = out.rows * (blk + 1) / parts;
      std::vector<float> t(std::min(chunk, b1 - b0) * depth * rank);
      for (std::size_t r0 = b0; r0 < b1; r0 += chunk) {
        const std::size_t r1 = std::min(b1, r0 + chunk);
        blas::gemm(detail::row_range(dy, r0, r1), v_t,
                   row_major<float>(t.data(), r1 - r0, depth * rank));
        for (std::size_t i = r0; i < r1; ++i) {
          const float* ti = t.data() + (i - r0) * depth * rank;
          for (std::size_t k = 0; k < depth; ++k) {
            const float* u = da_.first.data() + static_cast<std::size_t>(a(i, k)) * rank;
            float sum = 0;
            for (std::size_t r = 0; r < rank; ++r) sum += u[r] * ti[k * rank + r];
            out(i, k) = sum;
          }
        }
      }
    });
  }

  // dB = sum_r q_r(B) (.) (p_r(A)^T . dY)
  void db(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    detail::require_backward_operands("amgrad::kernel::host::backward_low_rank_kernel::db", a, b,
                                      dy, out, bits_, false);
    if (out.rows == 0 || out.cols == 0) return;
    const std::size_t depth = a.cols, batch = a.rows, width = dy.cols, rank = db_.rank;
    if (rank == 0) return zero(out);
    std::vector<float> p(batch * depth * rank);  // M x K*R, column k*R + r: p_r(A[.][k])
    const int used = resolve_threads(threads_);
    blas::scoped_threads single(1);
    const std::size_t parts = detail::block_count(depth, used, 32);
    detail::parallel_for(parts, used, [&](std::size_t blk, int) {
      const std::size_t k0 = depth * blk / parts, k1 = depth * (blk + 1) / parts;
      for (std::size_t i = 0; i < batch; ++i) {
        float* row = p.data() + i * depth * rank;
        for (std::size_t k = k0; k < k1; ++k) {
          const float* f = db_.first.data() + static_cast<std::size_t>(a(i, k)) * rank;
          for (std::size_t r = 0; r < rank; ++r) row[k * rank + r] = f[r];
        }
      }
      const std::size_t rows = (k1 - k0) * rank;
      const matrix_view<const float> lhs{p.data() + k0 * rank, rows, batch, 1,
                                         static_cast<std::ptrdiff_t>(depth * rank)};
      std::vector<float> t(rows * width);
      blas::gemm(lhs, dy, row_major<float>(t.data(), rows, width));
      for (std::size_t k = k0; k < k1; ++k) {
        const float* tk = t.data() + (k - k0) * rank * width;
        for (std::size_t j = 0; j < width; ++j) {
          const float* q = db_.second_i.data() + static_cast<std::size_t>(b(k, j)) * rank;
          float sum = 0;
          for (std::size_t r = 0; r < rank; ++r) sum += q[r] * tk[r * width + j];
          out(k, j) = sum;
        }
      }
    });
  }

  int rank_da() const { return static_cast<int>(da_.rank); }
  int rank_db() const { return static_cast<int>(db_.rank); }
  int threads() const { return threads_; }
  void set_threads(int threads) { threads_ = threads; }

 private:
  // first: the row operand's factor, [code * R + r] (read R at a time); second: the column
  // operand's factor, [r * n + code] (as low_rank_table stores it) and second_i, [code * R + r].
  struct factors {
    std::size_t rank = 0, n = 0;
    std::vector<float> first, second, second_i;
  };
  static factors interleave(const low_rank_table& t, int n) {
    factors f{static_cast<std::size_t>(t.rank), static_cast<std::size_t>(n), {}, t.v, {}};
    f.first.resize(f.rank * f.n);
    f.second_i.resize(f.rank * f.n);
    for (std::size_t r = 0; r < f.rank; ++r)
      for (std::size_t x = 0; x < f.n; ++x) {
        f.first[x * f.rank + r] = t.u[r * f.n + x];
        f.second_i[x * f.rank + r] = t.v[r * f.n + x];
      }
    return f;
  }
  static void zero(matrix_view<float> out) {
    for (std::size_t r = 0; r < out.rows; ++r)
      for (std::size_t c = 0; c < out.cols; ++c) out(r, c) = 0.0f;
  }

  int bits_;
  int threads_;
  factors da_, db_;
};

}  // namespace AMGRAD_HOST_ABI
}  // namespace amgrad::kernel::host
