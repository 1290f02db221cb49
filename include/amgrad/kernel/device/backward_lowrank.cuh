#pragma once
// Device backward of a low-rank scheme (gradient/lut2d_lowrank.hpp), the device twin of
// kernel/host/backward_lowrank.hpp:
//   dA = sum_r u_r(A) (.) (dY . v_r(B)^T),   dB = sum_r q_r(B) (.) (p_r(A)^T . dY).
// Per block of k (one block unless the intermediates would pass max_block_floats), three
// launches on the caller's stream:
//   1. map: the R factor maps of the mapped operand, stacked r-major in one float matrix,
//        dA: V (R*w x N), V[r*w + k][j] = v_r(B[k0 + k][j]);
//        dB: P (M x R*w), P[i][r*w + k] = p_r(A[i][k0 + k]);
//   2. one cuBLAS sgemm for all R ranks at once (the R GEMMs of w columns each share dY, so they
//      are one GEMM of R*w columns: one launch that fills the GPU, where R small ones or a
//      strided batch would not at thin shapes): T = dY . V^T (M x R*w) or P^T . dY (R*w x N);
//   3. combine: dA[i][k0 + k] = sum_r u_r(A[i][k0 + k]) T[i][r*w + k]
//            or dB[k0 + k][j] = sum_r q_r(B[k0 + k][j]) T[r*w + k][j].
// r-major stacking keeps every access of the map and the combine coalesced (consecutive threads,
// consecutive k or j, for each r). FP32 throughout: the sgemm runs with CUBLAS_DEFAULT_MATH, no
// TF32 (unless NVIDIA_TF32_OVERRIDE forces it process-wide), so the result is within float
// rounding of the double reference, like the STE/LUT-1D backward. Temporaries come from the
// library's stream-ordered pool; nothing synchronises.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "amgrad/gradient/lut2d_lowrank.hpp"
#include "amgrad/kernel/device/backward.cuh"
#include "amgrad/kernel/device/buffer.cuh"
#include "amgrad/kernel/device/error.cuh"
#include "amgrad/matrix.hpp"

namespace amgrad::detail {

// Factor tables on the device are [r * low_rank_codes + code], zero past the format's codes: any
// byte indexes inside the table, so an invalid code (>= 2^bits) reads a zero gradient instead of
// memory past the buffer (codes are not checked per call, as in the table kernel).
inline constexpr int low_rank_codes = 256;

inline constexpr int low_rank_threads = 256;
inline int low_rank_blocks(std::int64_t work) {  // grid-stride loops: the grid is capped
  return static_cast<int>(std::clamp<std::int64_t>(
      (work + low_rank_threads - 1) / low_rank_threads, 1, std::int64_t{1} << 16));
}

// The kernels are templates (on the code type) because a header-defined non-template __global__
// function would be defined again in every translation unit that includes this header.
#define AMGRAD_GRID_STRIDE(e, total)                                                           \
  for (std::int64_t e = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;      \
       e < (total); e += static_cast<std::int64_t>(gridDim.x) * blockDim.x)

// dA map: V[r*w + k][j] = v_r(B[k0 + k][j]), V row-major R*w x N. One thread per (k, j).
template <class Code>
__global__ void low_rank_map_b(const float* __restrict__ v, int rank, matrix_view<const Code> b,
                               std::int64_t k0, std::int64_t w, float* __restrict__ out) {
  const auto n = static_cast<std::int64_t>(b.cols);
  AMGRAD_GRID_STRIDE(e, w * n) {
    const std::int64_t k = e / n, j = e % n;
    const int code = b(static_cast<std::size_t>(k0 + k), static_cast<std::size_t>(j));
    for (int r = 0; r < rank; ++r)
      out[(r * w + k) * n + j] = __ldg(v + r * low_rank_codes + code);
  }
}

// dA combine: out(i, k0 + k) = sum_r u_r(A[i][k0 + k]) T[i][r*w + k]. One thread per (i, k).
template <class Code>
__global__ void low_rank_combine_a(const float* __restrict__ u, int rank,
                                   matrix_view<const Code> a, std::int64_t k0, std::int64_t w,
                                   const float* __restrict__ t, matrix_view<float> out) {
  AMGRAD_GRID_STRIDE(e, static_cast<std::int64_t>(a.rows) * w) {
    const std::int64_t i = e / w, k = e % w;
    const auto row = static_cast<std::size_t>(i), col = static_cast<std::size_t>(k0 + k);
    const int code = a(row, col);
    const float* ti = t + i * rank * w + k;
    float sum = 0.0f;
    for (int r = 0; r < rank; ++r) sum += __ldg(u + r * low_rank_codes + code) * ti[r * w];
    out(row, col) = sum;
  }
}

// dB map: P[i][r*w + k] = p_r(A[i][k0 + k]), P row-major M x R*w. One thread per (i, k).
template <class Code>
__global__ void low_rank_map_a(const float* __restrict__ p, int rank, matrix_view<const Code> a,
                               std::int64_t k0, std::int64_t w, float* __restrict__ out) {
  AMGRAD_GRID_STRIDE(e, static_cast<std::int64_t>(a.rows) * w) {
    const std::int64_t i = e / w, k = e % w;
    const int code = a(static_cast<std::size_t>(i), static_cast<std::size_t>(k0 + k));
    float* row = out + i * rank * w + k;
    for (int r = 0; r < rank; ++r) row[r * w] = __ldg(p + r * low_rank_codes + code);
  }
}

// dB combine: out(k0 + k, j) = sum_r q_r(B[k0 + k][j]) T[r*w + k][j]. One thread per (k, j).
template <class Code>
__global__ void low_rank_combine_b(const float* __restrict__ q, int rank,
                                   matrix_view<const Code> b, std::int64_t k0, std::int64_t w,
                                   const float* __restrict__ t, matrix_view<float> out) {
  const auto n = static_cast<std::int64_t>(b.cols);
  AMGRAD_GRID_STRIDE(e, w * n) {
    const std::int64_t k = e / n, j = e % n;
    const auto row = static_cast<std::size_t>(k0 + k), col = static_cast<std::size_t>(j);
    const int code = b(row, col);
    float sum = 0.0f;
    for (int r = 0; r < rank; ++r)
      sum += __ldg(q + r * low_rank_codes + code) * t[(r * w + k) * n + j];
    out(row, col) = sum;
  }
}

// out = 0 through any strides (an empty reduction: N = 0 for dA, M = 0 for dB, or rank 0).
template <class T>
__global__ void low_rank_zero(matrix_view<T> out) {
  const auto cols = static_cast<std::int64_t>(out.cols);
  AMGRAD_GRID_STRIDE(e, static_cast<std::int64_t>(out.rows) * cols) {
    out(static_cast<std::size_t>(e / cols), static_cast<std::size_t>(e % cols)) = T{};
  }
}

#undef AMGRAD_GRID_STRIDE

}  // namespace amgrad::detail

namespace amgrad::kernel::device {

// dY must be row-major (unit column stride; any leading dimension), as cuBLAS reads it in place;
// the codes and the output may have any strides (the map and the combine go through the views).
// Calls sharing one object must not run concurrently from several host threads (they share one
// cuBLAS handle).
class backward_low_rank_kernel {
 public:
  // Bound on each intermediate (the stacked map and T), in floats: 256 MiB. Below it the whole
  // pass is one GEMM; above it (4096^3 at R = 16 would need 1 GiB each) k is cut into blocks,
  // each still a GEMM of about max_block_floats / max(M, N) columns of T.
  static constexpr std::size_t default_block_floats = std::size_t{1} << 26;

  explicit backward_low_rank_kernel(const low_rank_gradients& g,
                                    std::size_t max_block_floats = default_block_floats)
      : device_("amgrad::kernel::device::backward_low_rank_kernel"),
        max_block_floats_(std::max<std::size_t>(1, max_block_floats)),
        da_(g.da, g.format),
        db_(g.db, g.format),
        handle_(amgrad::detail::make_fp32_cublas_handle()) {}

  // dA (M x K) = sum_r u_r(A) (.) (dY . v_r(B)^T)
  void da(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out, cudaStream_t stream = nullptr) const {
    constexpr const char* where = "amgrad::kernel::device::backward_low_rank_kernel::da";
    amgrad::detail::require_da_shapes(where, a, b, dy, out);
    require_row_major(where, dy);
    const std::size_t m = a.rows, depth = a.cols, n = b.cols, rank = da_.rank;
    if (m == 0 || depth == 0) return;
    if (n == 0 || rank == 0) return zero(out, stream);
    const std::size_t w_max = block_depth(depth, rank, m, n);
    detail::stream_scratch v(pool_, rank * w_max * n * sizeof(float), stream);
    detail::stream_scratch t(pool_, m * rank * w_max * sizeof(float), stream);
    AMGRAD_CUBLAS_CHECK(cublasSetStream(handle_.get(), stream));
    for (std::size_t k0 = 0; k0 < depth; k0 += w_max) {
      const std::size_t w = std::min(w_max, depth - k0), cols = rank * w;  // columns of T
      const auto k0s = static_cast<std::int64_t>(k0), ws = static_cast<std::int64_t>(w);
      detail::low_rank_map_b<<<detail::low_rank_blocks(ws * static_cast<std::int64_t>(n)),
                               detail::low_rank_threads, 0, stream>>>(
          da_.second.data(), static_cast<int>(rank), b, k0s, ws, v.floats());
      AMGRAD_CUDA_CHECK_LAUNCH("amgrad low-rank map of B");
      // Row-major T = dY . V^T is column-major T^T (cols x M) = V (cols x N) . dY^T (N x M):
      // V's memory is column-major V^T (N x cols, ld N), so op T; dY's is dY^T (N x M), op N.
      const float one = 1.0f, zero_f = 0.0f;
      AMGRAD_CUBLAS_CHECK(cublasSgemm(
          handle_.get(), CUBLAS_OP_T, CUBLAS_OP_N, detail::gemm_dim(cols, where),
          detail::gemm_dim(m, where), detail::gemm_dim(n, where), &one, v.floats(),
          detail::gemm_dim(n, where), dy.data, leading_dimension(dy, where), &zero_f, t.floats(),
          detail::gemm_dim(cols, where)));
      detail::low_rank_combine_a<<<detail::low_rank_blocks(static_cast<std::int64_t>(m) * ws),
                                   detail::low_rank_threads, 0, stream>>>(
          da_.first.data(), static_cast<int>(rank), a, k0s, ws, t.floats(), out);
      AMGRAD_CUDA_CHECK_LAUNCH("amgrad low-rank combine of dA");
    }
  }

  // dB (K x N) = sum_r q_r(B) (.) (p_r(A)^T . dY)
  void db(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out, cudaStream_t stream = nullptr) const {
    constexpr const char* where = "amgrad::kernel::device::backward_low_rank_kernel::db";
    amgrad::detail::require_db_shapes(where, a, b, dy, out);
    require_row_major(where, dy);
    const std::size_t m = a.rows, depth = b.rows, n = b.cols, rank = db_.rank;
    if (depth == 0 || n == 0) return;
    if (m == 0 || rank == 0) return zero(out, stream);
    const std::size_t w_max = block_depth(depth, rank, m, n);
    detail::stream_scratch p(pool_, m * rank * w_max * sizeof(float), stream);
    detail::stream_scratch t(pool_, rank * w_max * n * sizeof(float), stream);
    AMGRAD_CUBLAS_CHECK(cublasSetStream(handle_.get(), stream));
    for (std::size_t k0 = 0; k0 < depth; k0 += w_max) {
      const std::size_t w = std::min(w_max, depth - k0), cols = rank * w;  // columns of P
      const auto k0s = static_cast<std::int64_t>(k0), ws = static_cast<std::int64_t>(w);
      detail::low_rank_map_a<<<detail::low_rank_blocks(static_cast<std::int64_t>(m) * ws),
                               detail::low_rank_threads, 0, stream>>>(
          db_.first.data(), static_cast<int>(rank), a, k0s, ws, p.floats());
      AMGRAD_CUDA_CHECK_LAUNCH("amgrad low-rank map of A");
      // Row-major T = P^T . dY is column-major T^T (N x cols) = dY^T (N x M) . P (M x cols):
      // dY's memory is column-major dY^T (N x M), op N; P's is P^T (cols x M, ld cols), op T.
      const float one = 1.0f, zero_f = 0.0f;
      AMGRAD_CUBLAS_CHECK(cublasSgemm(
          handle_.get(), CUBLAS_OP_N, CUBLAS_OP_T, detail::gemm_dim(n, where),
          detail::gemm_dim(cols, where), detail::gemm_dim(m, where), &one, dy.data,
          leading_dimension(dy, where), p.floats(), detail::gemm_dim(cols, where), &zero_f,
          t.floats(), detail::gemm_dim(n, where)));
      detail::low_rank_combine_b<<<detail::low_rank_blocks(ws * static_cast<std::int64_t>(n)),
                                   detail::low_rank_threads, 0, stream>>>(
          db_.second.data(), static_cast<int>(rank), b, k0s, ws, t.floats(), out);
      AMGRAD_CUDA_CHECK_LAUNCH("amgrad low-rank combine of dB");
    }
  }

  int rank_da() const { return static_cast<int>(da_.rank); }
  int rank_db() const { return static_cast<int>(db_.rank); }

  // Columns of k per block for rank R and an M x N problem: both intermediates of a block,
  // R*w*N and M*R*w floats, within max_block_floats (at least one column).
  std::size_t block_depth(std::size_t depth, std::size_t rank, std::size_t m,
                          std::size_t n) const {
    const std::size_t per_column = std::max<std::size_t>(1, rank * std::max(m, n));
    return std::clamp<std::size_t>(max_block_floats_ / per_column, 1, std::max<std::size_t>(1, depth));
  }

 private:
  // One gradient's factors: first (the row operand's, u or p) and second (the column operand's,
  // v or q), each [r * low_rank_codes + code].
  struct factors {
    std::size_t rank = 0;
    buffer<float> first, second;

    factors(const low_rank_table& t, operand_format format)
        : rank(static_cast<std::size_t>(t.rank)),
          first(padded(t.u, t.rank, format.size())),
          second(padded(t.v, t.rank, format.size())) {}

    static std::vector<float> padded(const std::vector<float>& f, int rank, int n) {
      amgrad::require(rank >= 0 && n <= detail::low_rank_codes &&
                          f.size() == static_cast<std::size_t>(rank) * static_cast<std::size_t>(n),
                      "amgrad::kernel::device::backward_low_rank_kernel", "a rank-", rank,
                      " factor of ", n, " codes has ", f.size(), " values");
      std::vector<float> out(static_cast<std::size_t>(rank) * detail::low_rank_codes, 0.0f);
      for (int r = 0; r < rank; ++r)
        std::copy_n(f.begin() + static_cast<std::ptrdiff_t>(r) * n, n,
                    out.begin() + static_cast<std::ptrdiff_t>(r) * detail::low_rank_codes);
      return out;
    }
  };

  static void require_row_major(const char* where, const matrix_view<const float>& dy) {
    amgrad::require(dy.col_stride == 1 && (dy.rows <= 1 || dy.row_stride >= static_cast<std::ptrdiff_t>(dy.cols)),
                    where, "dY must be row-major (unit column stride, rows apart by at least its "
                    "width) for cuBLAS");
  }
  // dY's leading dimension for cuBLAS (>= max(1, N) even where one row makes it irrelevant).
  static int leading_dimension(const matrix_view<const float>& dy, const char* where) {
    const std::size_t ld = dy.rows <= 1 ? std::max<std::size_t>(1, dy.cols)
                                        : static_cast<std::size_t>(dy.row_stride);
    return detail::gemm_dim(ld, where);
  }
  static void zero(const matrix_view<float>& out, cudaStream_t stream) {
    detail::low_rank_zero<<<detail::low_rank_blocks(static_cast<std::int64_t>(out.rows * out.cols)),
                            detail::low_rank_threads, 0, stream>>>(out);
    AMGRAD_CUDA_CHECK_LAUNCH("amgrad low-rank zero fill");
  }

  device_present device_;  // first: a missing device is reported before any allocation
  std::size_t max_block_floats_;
  factors da_, db_;
  std::shared_ptr<cublasContext> handle_;
  detail::scratch_pool pool_;
};

}  // namespace amgrad::kernel::device
