#pragma once
// Non-owning strided matrix views: the one way kernels receive operands. Element (r, c) lives at
// data[r * row_stride + c * col_stride], so row-major with a leading dimension and a transposed
// operand are the same type, and shapes are checked once at the boundary.
#include <cstddef>
#include <type_traits>

#include "amgrad/config.hpp"
#include "amgrad/error.hpp"
#include "amgrad/operand.hpp"

namespace amgrad {

template <class T>
struct matrix_view {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::ptrdiff_t row_stride = 0;
  std::ptrdiff_t col_stride = 1;

  AMGRAD_HOST_DEVICE T& operator()(std::size_t r, std::size_t c) const {
    return data[static_cast<std::ptrdiff_t>(r) * row_stride +
                 static_cast<std::ptrdiff_t>(c) * col_stride];
  }
  // The same memory seen as the transpose (a view of B^T, say).
  matrix_view transposed() const { return {data, cols, rows, col_stride, row_stride}; }
  bool is_row_major() const { return col_stride == 1; }
  // Mutable views convert to read-only ones; only for non-const T, since a conversion to the
  // type's own self would never be used (and nvcc warns about it).
  template <class U = T, std::enable_if_t<!std::is_const_v<U>, int> = 0>
  operator matrix_view<const U>() const { return {data, rows, cols, row_stride, col_stride}; }
};

// Row-major rows x cols with leading dimension ld (ld >= cols; 0 means ld = cols).
template <class T>
matrix_view<T> row_major(T* data, std::size_t rows, std::size_t cols, std::size_t ld = 0) {
  if (ld == 0) ld = cols;
  amgrad::require(ld >= cols, "amgrad::row_major", "leading dimension ", ld,
                  " is smaller than the column count ", cols);
  amgrad::require(data != nullptr || rows * cols == 0, "amgrad::row_major",
                  "null data for a ", rows, "x", cols, " matrix");
  return {data, rows, cols, static_cast<std::ptrdiff_t>(ld), 1};
}

namespace detail {

// Shapes of C[M][N] = op(A[M][K], B[K][N]).
template <class TA, class TB, class TC>
void require_gemm_shapes(const char* where, const matrix_view<TA>& a, const matrix_view<TB>& b,
                         const matrix_view<TC>& c) {
  require(a.cols == b.rows, where, "inner dimensions differ: A is ", a.rows, "x", a.cols,
          ", B is ", b.rows, "x", b.cols);
  require(c.rows == a.rows && c.cols == b.cols, where, "output is ", c.rows, "x", c.cols,
          " but A*B is ", a.rows, "x", b.cols);
}

template <class T, class U>
void require_same_shape(const char* where, const char* what, const matrix_view<T>& x,
                        const matrix_view<U>& y) {
  require(x.rows == y.rows && x.cols == y.cols, where, what, " is ", x.rows, "x", x.cols,
          " but must be ", y.rows, "x", y.cols);
}

// The shapes of a backward pass: dY is A*B's shape, and dA (dB) is A's (B's).
template <class TA, class TB, class TD, class TG>
void require_da_shapes(const char* where, const matrix_view<TA>& a, const matrix_view<TB>& b,
                       const matrix_view<TD>& dy, const matrix_view<TG>& da) {
  require_gemm_shapes(where, a, b, dy);
  require_same_shape(where, "dA", da, a);
}

template <class TA, class TB, class TD, class TG>
void require_db_shapes(const char* where, const matrix_view<TA>& a, const matrix_view<TB>& b,
                       const matrix_view<TD>& dy, const matrix_view<TG>& db) {
  require_gemm_shapes(where, a, b, dy);
  require_same_shape(where, "dB", db, b);
}

// Codes at or above 2^bits would index past a kernel's tables: an out-of-bounds read and a
// silent wrong result, so kernels refuse them (one byte compare per operand element).
inline void require_codes(const char* where, const char* what, const matrix_view<const code_t>& m,
                          int bits) {
  if (bits >= 8) return;  // every byte is a valid 8-bit code
  const unsigned limit = 1u << bits;
  for (std::size_t r = 0; r < m.rows; ++r)
    for (std::size_t c = 0; c < m.cols; ++c)
      require(m(r, c) < limit, where, what, "(", r, ", ", c, ") = ", int{m(r, c)}, " is not a ",
              bits, "-bit code");
}

}  // namespace detail
}  // namespace amgrad
