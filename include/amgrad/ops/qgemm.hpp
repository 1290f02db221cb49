#pragma once
// The quantized GEMM that linear and conv2d share: A = activation codes [M][K], B = weight codes
// [K][N] (per-tensor activation params, per-tensor or per-column weight params), through the
// AppMult engine, dequantized with the exact zero-point cross terms (DATE'25 Eq. 8):
//     y[i][j] = s_x s_w[j] (Y[i][j] - Z_x SW[j] - Z_w[j] SX[i] + K Z_w[j] Z_x) + bias[j]
// with Y = sum_k AM(X[i][k], W[k][j]) on operand values, SX, SW the sums of X and W over k.
//
// The backward returns gradients with respect to the integer values X and W ("code units"):
//     g[i][j]  = dy[i][j] s_x s_w[j]
//     dX[i][k] = sum_j g[i][j] dAM/da(X[i][k], W[k][j]) - sum_j g[i][j] Z_w[j]
//     dW[k][j] = sum_i g[i][j] dAM/db(X[i][k], W[k][j]) - Z_x sum_i g[i][j]
// The first sums come from the engine's gradient scheme; the second are the cross terms' exact
// gradients. The quantizer's estimator (default: the clipping STE) is applied by the caller
// (linear, conv2d).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "amgrad/concepts.hpp"
#include "amgrad/error.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/quant/affine.hpp"

namespace amgrad::ops {

struct gemm_shape {
  std::size_t m = 0, k = 0, n = 0;
};

}  // namespace amgrad::ops

namespace amgrad::detail {

template <class Operand>
std::vector<std::int64_t> row_value_sums(matrix_view<const code_t> a) {
  std::vector<std::int64_t> s(a.rows, 0);
  for (std::size_t i = 0; i < a.rows; ++i)
    for (std::size_t k = 0; k < a.cols; ++k) s[i] += Operand::value(a(i, k));
  return s;
}

template <class Operand>
std::vector<std::int64_t> column_value_sums(matrix_view<const code_t> b) {
  std::vector<std::int64_t> s(b.cols, 0);
  for (std::size_t k = 0; k < b.rows; ++k)
    for (std::size_t j = 0; j < b.cols; ++j) s[j] += Operand::value(b(k, j));
  return s;
}

template <class Operand>
void require_qgemm_params(const char* where, const quant::params& xq, const quant::params& wq,
                          std::size_t n) {
  amgrad::require(xq.channels() == 1, where,
                          "activations are quantized per tensor, got ", xq.channels(),
                          " channels");
  quant::validate<Operand>(xq, 1, where);
  quant::validate<Operand>(wq, n, where);
}

}  // namespace amgrad::detail

namespace amgrad::ops {

// y = dequantized AM-GEMM (+ bias, may be empty). `acc` receives Y (int32, M x N).
template <engine Engine>
void qgemm_forward(const Engine& am, matrix_view<const code_t> a, matrix_view<const code_t> b,
                   const quant::params& xq, const quant::params& wq, std::span<const float> bias,
                   matrix_view<std::int32_t> acc, matrix_view<float> y) {
  using Operand = typename Engine::operand_type;
  constexpr const char* where = "amgrad::ops::qgemm_forward";
  amgrad::detail::require_gemm_shapes(where, a, b, y);
  amgrad::detail::require_same_shape(where, "the accumulator", acc, y);
  amgrad::require(bias.empty() || bias.size() == b.cols, where, "bias has ", bias.size(),
                          " entries for ", b.cols, " outputs");
  detail::require_qgemm_params<Operand>(where, xq, wq, b.cols);

  am.forward(a, b, acc);
  const auto sx = detail::row_value_sums<Operand>(a);
  const auto sw = detail::column_value_sums<Operand>(b);
  const auto kk = static_cast<std::int64_t>(a.cols);
  const std::int64_t zx = xq.zero_point[0];
  for (std::size_t j = 0; j < b.cols; ++j) {
    const std::int64_t zw = wq.zero_point_of(j);
    const double scale = static_cast<double>(xq.scale[0]) * wq.scale_of(j);
    const double add = bias.empty() ? 0.0 : bias[j];
    const std::int64_t column_term = -zx * sw[j] + kk * zw * zx;
    for (std::size_t i = 0; i < a.rows; ++i) {
      const std::int64_t centered = acc(i, j) + column_term - zw * sx[i];
      y(i, j) = static_cast<float>(scale * static_cast<double>(centered) + add);
    }
  }
}

// dX (M x K) and dW (K x N) in code units, from dy (M x N). Either output may be empty
// (rows == 0) when it is not needed. `scratch` is reused for g (resized as needed).
template <engine Engine>
void qgemm_backward(const Engine& am, matrix_view<const code_t> a, matrix_view<const code_t> b,
                    const quant::params& xq, const quant::params& wq,
                    matrix_view<const float> dy, matrix_view<float> dx, matrix_view<float> dw,
                    std::vector<float>& scratch) {
  using Operand = typename Engine::operand_type;
  constexpr const char* where = "amgrad::ops::qgemm_backward";
  amgrad::detail::require_gemm_shapes(where, a, b, dy);
  detail::require_qgemm_params<Operand>(where, xq, wq, b.cols);
  const std::size_t m = a.rows, n = b.cols;

  scratch.resize(m * n);
  const auto g = row_major(scratch.data(), m, n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) g(i, j) = dy(i, j) * (xq.scale[0] * wq.scale_of(j));

  if (dx.rows != 0) {
    am.backward_da(a, b, matrix_view<const float>(g), dx);
    for (std::size_t i = 0; i < m; ++i) {
      double cross = 0;  // sum_j g[i][j] Z_w[j]
      for (std::size_t j = 0; j < n; ++j) cross += static_cast<double>(g(i, j)) * wq.zero_point_of(j);
      if (cross != 0)
        for (std::size_t k = 0; k < a.cols; ++k) dx(i, k) -= static_cast<float>(cross);
    }
  }
  if (dw.rows != 0) {
    am.backward_db(a, b, matrix_view<const float>(g), dw);
    const double zx = xq.zero_point[0];
    if (zx != 0)
      for (std::size_t j = 0; j < n; ++j) {
        double column = 0;  // Z_x sum_i g[i][j]
        for (std::size_t i = 0; i < m; ++i) column += g(i, j);
        for (std::size_t k = 0; k < b.rows; ++k) dw(k, j) -= static_cast<float>(zx * column);
      }
  }
}

}  // namespace amgrad::ops
