#pragma once
// Reference host kernels: the definition of every pass, written as plainly as possible. Fast
// kernels are tested against these; these are tested against a naive loop over the model.
#include <cstdint>
#include <limits>
#include <type_traits>

#include "amgrad/matrix.hpp"
#include "amgrad/operand.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad::kernel::reference {

// Y[i][j] = sum_k AM(A[i][k], B[k][j]), accumulated in Acc (int32_t or int64_t).
template <class Acc>
void forward(const product_table& lut, matrix_view<const code_t> a, matrix_view<const code_t> b,
             matrix_view<Acc> y) {
  static_assert(std::is_same_v<Acc, std::int32_t> || std::is_same_v<Acc, std::int64_t>,
                "amgrad::kernel::reference::forward accumulates in int32_t or int64_t");
  detail::require_gemm_shapes("amgrad::kernel::reference::forward", a, b, y);
  for (std::size_t i = 0; i < y.rows; ++i)
    for (std::size_t j = 0; j < y.cols; ++j) {
      std::int64_t sum = 0;
      for (std::size_t k = 0; k < a.cols; ++k) sum += lut(a(i, k), b(k, j));
      y(i, j) = static_cast<Acc>(sum);
    }
}

// dA[i][k] = sum_j dY[i][j] * Ga(A[i][k], B[k][j]), accumulated in double.
inline void backward_da(const gradient_table& ga, matrix_view<const code_t> a,
                        matrix_view<const code_t> b, matrix_view<const float> dy,
                        matrix_view<float> da) {
  detail::require_da_shapes("amgrad::kernel::reference::backward_da", a, b, dy, da);
  for (std::size_t i = 0; i < a.rows; ++i)
    for (std::size_t k = 0; k < a.cols; ++k) {
      double sum = 0;
      for (std::size_t j = 0; j < b.cols; ++j)
        sum += static_cast<double>(dy(i, j)) * ga(a(i, k), b(k, j));
      da(i, k) = static_cast<float>(sum);
    }
}

// dB[k][j] = sum_i dY[i][j] * Gb(A[i][k], B[k][j]), accumulated in double.
inline void backward_db(const gradient_table& gb, matrix_view<const code_t> a,
                        matrix_view<const code_t> b, matrix_view<const float> dy,
                        matrix_view<float> db) {
  detail::require_db_shapes("amgrad::kernel::reference::backward_db", a, b, dy, db);
  for (std::size_t k = 0; k < b.rows; ++k)
    for (std::size_t j = 0; j < b.cols; ++j) {
      double sum = 0;
      for (std::size_t i = 0; i < a.rows; ++i)
        sum += static_cast<double>(dy(i, j)) * gb(a(i, k), b(k, j));
      db(k, j) = static_cast<float>(sum);
    }
}

}  // namespace amgrad::kernel::reference
