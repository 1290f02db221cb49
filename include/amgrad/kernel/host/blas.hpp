#pragma once
// The float GEMM of the separable backward passes, through CBLAS (OpenBLAS), on amgrad's strided
// views: a view with unit column stride is passed as is, a view with unit row stride as the
// transpose, anything else is packed first.
#include <cblas.h>

#include <algorithm>
#include <mutex>
#include <cstddef>
#include <vector>

#include "amgrad/matrix.hpp"

namespace amgrad::kernel::host::blas {

// OpenBLAS's thread count while at least one scope is alive. OpenBLAS has only a process-wide
// setting, so scopes that overlap (nested, or on several threads at once: one appmult shared by
// DataParallel workers) share one count under a mutex: the first sets it, the last restores the
// previous one. Setting and restoring it per call, unsynchronised, let one caller's restore
// re-enable OpenBLAS's pool under another caller's GEMM (a data race ThreadSanitizer reports).
// Kernels open a scope of 1 around their parallel regions, so OpenBLAS's pthread pool never
// spins beside the kernels' threads. Concurrent scopes should ask for the same count; the first
// one's count holds until all have closed.
class scoped_threads {
 public:
  explicit scoped_threads(int threads) {
    const std::lock_guard<std::mutex> lock(state().mutex);
    if (state().depth++ == 0) {
      state().previous = openblas_get_num_threads();
      if (threads != state().previous) openblas_set_num_threads(threads);
    }
  }
  ~scoped_threads() {
    const std::lock_guard<std::mutex> lock(state().mutex);
    if (--state().depth == 0 && openblas_get_num_threads() != state().previous)
      openblas_set_num_threads(state().previous);
  }
  scoped_threads(const scoped_threads&) = delete;
  scoped_threads& operator=(const scoped_threads&) = delete;

 private:
  struct shared_state {
    std::mutex mutex;
    int depth = 0;
    int previous = 1;
  };
  static shared_state& state() {
    static shared_state s;  // one per process: OpenBLAS's setting is one per process
    return s;
  }
};

}  // namespace amgrad::kernel::host::blas

namespace amgrad::detail {

struct blas_operand {
  const float* data;
  CBLAS_TRANSPOSE trans;
  std::size_t ld;
};

inline blas_operand as_blas(matrix_view<const float> m, std::vector<float>& storage) {
  if (m.col_stride == 1 && m.row_stride >= static_cast<std::ptrdiff_t>(m.cols))
    return {m.data, CblasNoTrans, std::max<std::size_t>(1, static_cast<std::size_t>(m.row_stride))};
  if (m.row_stride == 1 && m.col_stride >= static_cast<std::ptrdiff_t>(m.rows))
    return {m.data, CblasTrans, std::max<std::size_t>(1, static_cast<std::size_t>(m.col_stride))};
  storage.resize(m.rows * m.cols);
  for (std::size_t r = 0; r < m.rows; ++r)
    for (std::size_t c = 0; c < m.cols; ++c) storage[r * m.cols + c] = m(r, c);
  return {storage.data(), CblasNoTrans, std::max<std::size_t>(1, m.cols)};
}

}  // namespace amgrad::detail

namespace amgrad::kernel::host::blas {

// C = A * B in float, with OpenBLAS on its current thread count. Shapes are the caller's job.
inline void gemm(matrix_view<const float> a, matrix_view<const float> b, matrix_view<float> c) {
  if (c.rows == 0 || c.cols == 0) return;
  if (a.cols == 0) {
    for (std::size_t r = 0; r < c.rows; ++r)
      for (std::size_t q = 0; q < c.cols; ++q) c(r, q) = 0.0f;
    return;
  }
  if (c.col_stride != 1 && c.row_stride == 1) {  // C^T = B^T A^T, written through the same memory
    gemm(b.transposed(), a.transposed(), c.transposed());
    return;
  }
  std::vector<float> pa, pb, pc;
  const auto x = detail::as_blas(a, pa);
  const auto y = detail::as_blas(b, pb);
  const bool direct = c.col_stride == 1 && c.row_stride >= static_cast<std::ptrdiff_t>(c.cols);
  if (!direct) pc.resize(c.rows * c.cols);
  float* out = direct ? c.data : pc.data();
  const std::size_t ldc = direct ? std::max<std::size_t>(1, static_cast<std::size_t>(c.row_stride))
                                 : c.cols;
  cblas_sgemm(CblasRowMajor, x.trans, y.trans, static_cast<blasint>(c.rows),
              static_cast<blasint>(c.cols), static_cast<blasint>(a.cols), 1.0f, x.data,
              static_cast<blasint>(x.ld), y.data, static_cast<blasint>(y.ld), 0.0f, out,
              static_cast<blasint>(ldc));
  if (!direct)
    for (std::size_t r = 0; r < c.rows; ++r)
      for (std::size_t q = 0; q < c.cols; ++q) c(r, q) = pc[r * c.cols + q];
}

}  // namespace amgrad::kernel::host::blas
