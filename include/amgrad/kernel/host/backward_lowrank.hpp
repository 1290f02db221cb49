#pragma once
// Host backward of a low-rank scheme (gradient/lut2d_lowrank.hpp): R float GEMMs after
// elementwise maps, stacked into one GEMM per block of output rows (dA) or per cache-sized block of
// k and of rows of A (dB).
//   dA (M x K): V (K*R x N), V[k*R + r][j] = v_r(B[k][j]);  T = dY . V^T  (M x K*R);
//               dA[i][k] = sum_r u_r(A[i][k]) T[i][k*R + r].
//   dB (K x N): P (M x K*R), P[i][k*R + r] = p_r(A[i][k]);  T = P^T . dY  (K*R x N);
//               dB[k][j] = sum_r q_r(B[k][j]) T[k*R + r][j]; P is built and multiplied a
//               cache-sized block of rows at a time, T accumulating.
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

  // dB = sum_r q_r(B) (.) (p_r(A)^T . dY), per block of k, over chunks of rows of A: P, the
  // chunk x (k1-k0)*R slice of p_r(A), stays cache-sized and T accumulates chunk by chunk.
  // (All of P at once, M x K*R, is 61 MB at LeNet's conv2 with batch 64 and R = 16: 0.7 s a
  // call against 26 ms blocked, docs/benchmarks.md.)
  void db(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    detail::require_backward_operands("amgrad::kernel::host::backward_low_rank_kernel::db", a, b,
                                      dy, out, bits_, false);
    if (out.rows == 0 || out.cols == 0) return;
    const std::size_t depth = a.cols, batch = a.rows, width = dy.cols, rank = db_.rank;
    if (rank == 0 || batch == 0) return zero(out);
    const int used = resolve_threads(threads_);
    blas::scoped_threads single(1);
    // Blocks of k: one per thread at least, and enough that each block's T ((k1-k0)*R x N,
    // read and written by every chunk's GEMM) stays cache-sized at wide N.
    const std::size_t parts = std::min(
        depth, std::max(detail::block_count(depth, used, 32),
                        (depth * rank * width + chunk_floats - 1) / chunk_floats));
    detail::parallel_for(parts, used, [&](std::size_t blk, int) {
      const std::size_t k0 = depth * blk / parts, k1 = depth * (blk + 1) / parts;
      const std::size_t cols = (k1 - k0) * rank;  // columns of P, rows of T
      const std::size_t chunk = std::min(batch, std::max(min_chunk_rows, chunk_floats / cols));
      std::vector<float> p(chunk * cols), t(cols * width), packed;
      for (std::size_t i0 = 0; i0 < batch; i0 += chunk) {
        const std::size_t i1 = std::min(batch, i0 + chunk);
        for (std::size_t i = i0; i < i1; ++i) {
          float* row = p.data() + (i - i0) * cols;
          for (std::size_t k = k0; k < k1; ++k) {
            const float* f = db_.first.data() + static_cast<std::size_t>(a(i, k)) * rank;
            float* to = row + (k - k0) * rank;
            for (std::size_t r = 0; r < rank; ++r) to[r] = f[r];  // (std::copy: a memmove call)
          }
        }
        // T (+)= P^T . dY[i0:i1]
        const auto y = amgrad::detail::as_blas(detail::row_range(dy, i0, i1), packed);
        cblas_sgemm(CblasRowMajor, CblasTrans, y.trans, static_cast<blasint>(cols),
                    static_cast<blasint>(width), static_cast<blasint>(i1 - i0), 1.0f, p.data(),
                    static_cast<blasint>(cols), y.data, static_cast<blasint>(y.ld),
                    i0 == 0 ? 0.0f : 1.0f, t.data(), static_cast<blasint>(width));
      }
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
  // dB's blocks: P (chunk x (k1-k0)*R floats) and T ((k1-k0)*R x N) kept to ~128 Ki floats each
  // (half a MiB, both inside L2), with at least 64 rows of A per GEMM, so that it has some depth.
  // (The same bound on dA's T, blocking k too, was faster at R = 1 and 5-20% slower at R >= 2 on
  // the benchmark's shapes; dA keeps its row chunks.)
  static constexpr std::size_t chunk_floats = std::size_t{1} << 17;
  static constexpr std::size_t min_chunk_rows = 64;

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
