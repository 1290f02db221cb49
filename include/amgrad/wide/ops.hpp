#pragma once
// Quantized linear and conv2d layers on wide operands (9..16 bits): the 8-bit ops' recipe
// (ops/linear.hpp, ops/conv2d.hpp) on uint16 codes and int64 accumulators, through a
// wide::engine (engine.hpp):
//   - x per tensor (zero point), w per output channel, both by quant:: (the same rounding and
//     ranges as the 8-bit ops; a wide operand carries the operand_format quant:: reads);
//   - y = s_x s_w[j] (Y - Z_x SW[j] - Z_w[j] SX[i] + K Z_w[j] Z_x) + bias with
//     Y = sum_k AM(X, W) in int64 (the exact zero-point cross terms, DATE'25 Eq. 8);
//   - backward: the engine's scheme for sum AM, the cross terms' exact gradients, and the
//     quantizers' clipping STE (the 8-bit ops' own helpers).
// Shapes, geometry (ops::conv2d_geometry), im2col (padding with the zero point's code) and the
// gradient structs are the 8-bit ops'.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/ops/conv2d.hpp"
#include "amgrad/ops/linear.hpp"
#include "amgrad/ops/qgemm.hpp"
#include "amgrad/quant/affine.hpp"
#include "amgrad/wide/engine.hpp"
#include "amgrad/wide/operand.hpp"

namespace amgrad::wide {

// The 8-bit quantizer, on wide codes (quant::quantize takes the operand's code_type).
using quant::quantize;

struct linear_state {
  ops::linear_shape shape;
  std::vector<code_t> x_codes;         // A [batch][in]
  std::vector<code_t> w_codes;         // B [in][out]
  std::vector<std::uint8_t> x_inside;  // [batch][in]
  std::vector<std::uint8_t> w_inside;  // [out][in]
  quant::params xq, wq;
};

struct conv2d_state {
  ops::conv2d_geometry geometry;
  std::vector<code_t> a;               // im2col codes [M][K]
  std::vector<code_t> b;               // weight codes [K][out]
  std::vector<std::uint8_t> x_inside;  // [N][C][H][W]
  std::vector<std::uint8_t> w_inside;  // [out][C][kh][kw]
  quant::params xq, wq;
};

namespace detail {

inline std::vector<code_t> transpose(const std::vector<code_t>& x, std::size_t rows, std::size_t cols) {
  std::vector<code_t> t(x.size());
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) t[c * rows + r] = x[r * cols + c];
  return t;
}

// y [M][N] = the dequantized AM-GEMM of A [M][K], B [K][N] (+ bias, may be empty).
template <class Engine>
void qgemm_forward(const Engine& e, const code_t* a, const code_t* b, std::size_t m, std::size_t k,
                   std::size_t n, const quant::params& xq, const quant::params& wq,
                   std::span<const float> bias, float* y) {
  using Operand = typename Engine::operand_type;
  std::vector<std::int64_t> acc(m * n), sx(m, 0), sw(n, 0);
  e.forward(a, b, acc.data(), m, k, n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t p = 0; p < k; ++p) sx[i] += Operand::value(a[i * k + p]);
  for (std::size_t p = 0; p < k; ++p)
    for (std::size_t j = 0; j < n; ++j) sw[j] += Operand::value(b[p * n + j]);
  const auto kk = static_cast<std::int64_t>(k);
  const std::int64_t zx = xq.zero_point[0];
  for (std::size_t j = 0; j < n; ++j) {
    const std::int64_t zw = wq.zero_point_of(j);
    const double scale = static_cast<double>(xq.scale[0]) * wq.scale_of(j);
    const double add = bias.empty() ? 0.0 : bias[j];
    const std::int64_t column_term = -zx * sw[j] + kk * zw * zx;
    for (std::size_t i = 0; i < m; ++i)
      y[i * n + j] = static_cast<float>(
          scale * static_cast<double>(acc[i * n + j] + column_term - zw * sx[i]) + add);
  }
}

// Gradients in code units: dx [M][K] (skipped when empty) and dw [K][N], from dy [M][N].
template <class Engine>
void qgemm_backward(const Engine& e, const code_t* a, const code_t* b, std::size_t m,
                    std::size_t k, std::size_t n, const quant::params& xq, const quant::params& wq,
                    const float* dy, std::vector<float>& dx, std::vector<float>& dw) {
  std::vector<float> g(m * n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) g[i * n + j] = dy[i * n + j] * (xq.scale[0] * wq.scale_of(j));
  if (!dx.empty()) {
    e.backward_da(a, b, g.data(), dx.data(), m, k, n);
    for (std::size_t i = 0; i < m; ++i) {
      double cross = 0;  // sum_j g[i][j] Z_w[j]
      for (std::size_t j = 0; j < n; ++j) cross += static_cast<double>(g[i * n + j]) * wq.zero_point_of(j);
      if (cross != 0)
        for (std::size_t p = 0; p < k; ++p) dx[i * k + p] -= static_cast<float>(cross);
    }
  }
  e.backward_db(a, b, g.data(), dw.data(), m, k, n);
  const double zx = xq.zero_point[0];
  if (zx != 0)
    for (std::size_t j = 0; j < n; ++j) {
      double column = 0;  // Z_x sum_i g[i][j]
      for (std::size_t i = 0; i < m; ++i) column += g[i * n + j];
      for (std::size_t p = 0; p < k; ++p) dw[p * n + j] -= static_cast<float>(zx * column);
    }
}

// The activations' clipping STE, per tensor: dx = dq / s_x where q was not clamped, else 0 (the
// weights' is amgrad::detail::weight_ste, which also undoes the B layout).
inline void activation_ste(const std::vector<float>& dq, const std::vector<std::uint8_t>& inside,
                           const quant::params& xq, float* dx) {
  const float inv = 1.0f / xq.scale[0];
  for (std::size_t i = 0; i < dq.size(); ++i) dx[i] = inside[i] ? dq[i] * inv : 0.0f;
}

}  // namespace detail

// y [batch][out] = x [batch][in] . w [out][in]^T + bias (empty or [out]).
template <class Engine>
linear_state linear_forward(const Engine& e, std::span<const float> x, std::span<const float> w,
                            std::span<const float> bias, ops::linear_shape shape,
                            const quant::params& xq, const quant::params& wq, std::span<float> y) {
  using Operand = typename Engine::operand_type;
  constexpr const char* where = "amgrad::wide::linear_forward";
  amgrad::require(shape.batch > 0 && shape.in > 0 && shape.out > 0, where, "empty layer ",
                  shape.batch, "x", shape.in, " -> ", shape.out);
  amgrad::detail::require_size(where, "x", x.size(), shape.batch * shape.in);
  amgrad::detail::require_size(where, "w", w.size(), shape.out * shape.in);
  amgrad::detail::require_size(where, "y", y.size(), shape.batch * shape.out);
  amgrad::require(bias.empty() || bias.size() == shape.out, where, "bias has ", bias.size(),
                  " entries for ", shape.out, " outputs");
  amgrad::detail::require_qgemm_params<Operand>(where, xq, wq, shape.out);
  auto qx = quant::quantize<Operand>(x, xq);
  auto qw = quant::quantize<Operand>(w, wq, shape.out);
  linear_state s{shape, std::move(qx.codes), detail::transpose(qw.codes, shape.out, shape.in),
                 std::move(qx.inside), std::move(qw.inside), xq, wq};
  detail::qgemm_forward(e, s.x_codes.data(), s.w_codes.data(), shape.batch, shape.in, shape.out,
                        xq, wq, bias, y.data());
  return s;
}

template <class Engine>
ops::linear_grads linear_backward(const Engine& e, const linear_state& s,
                                  std::span<const float> dy, bool need_dx = true) {
  const auto [batch, in, out] = s.shape;
  amgrad::detail::require_size("amgrad::wide::linear_backward", "dy", dy.size(), batch * out);
  ops::linear_grads g{std::vector<float>(need_dx ? batch * in : 0), std::vector<float>(out * in),
                      std::vector<float>(out, 0.0f)};
  std::vector<float> dx_codes(need_dx ? batch * in : 0), dw_codes(in * out);
  detail::qgemm_backward(e, s.x_codes.data(), s.w_codes.data(), batch, in, out, s.xq, s.wq,
                         dy.data(), dx_codes, dw_codes);
  if (need_dx) detail::activation_ste(dx_codes, s.x_inside, s.xq, g.dx.data());
  amgrad::detail::weight_ste(dw_codes, s.w_inside, s.wq, in, out, g.dw.data());
  for (std::size_t i = 0; i < batch; ++i)
    for (std::size_t o = 0; o < out; ++o) g.dbias[o] += dy[i * out + o];
  return g;
}

// x [N][C][H][W], w [out][C][kh][kw], bias empty or [out]; y [N][out][OH][OW].
template <class Engine>
conv2d_state conv2d_forward(const Engine& e, std::span<const float> x, std::span<const float> w,
                            std::span<const float> bias, const ops::conv2d_geometry& g,
                            const quant::params& xq, const quant::params& wq, std::span<float> y) {
  using Operand = typename Engine::operand_type;
  constexpr const char* where = "amgrad::wide::conv2d_forward";
  g.validate(where);
  amgrad::detail::require_size(where, "x", x.size(), g.input_size());
  amgrad::detail::require_size(where, "w", w.size(), g.weight_size());
  amgrad::detail::require_size(where, "y", y.size(), g.output_size());
  amgrad::require(bias.empty() || bias.size() == g.out_channels, where, "bias has ", bias.size(),
                  " entries for ", g.out_channels, " outputs");
  amgrad::detail::require_qgemm_params<Operand>(where, xq, wq, g.out_channels);
  auto qx = quant::quantize<Operand>(x, xq);
  auto qw = quant::quantize<Operand>(w, wq, g.out_channels);
  const std::size_t m = g.gemm_m(), kk = g.gemm_k(), out = g.out_channels;
  conv2d_state s{g, std::vector<code_t>(m * kk), detail::transpose(qw.codes, out, kk),
                 std::move(qx.inside), std::move(qw.inside), xq, wq};
  const auto pad_code = static_cast<code_t>(Operand::code(xq.zero_point[0]));
  amgrad::detail::for_each_im2col(g, [&](std::size_t at, std::ptrdiff_t index) {
    s.a[at] = index < 0 ? pad_code : qx.codes[static_cast<std::size_t>(index)];
  });
  std::vector<float> rows(m * out);
  detail::qgemm_forward(e, s.a.data(), s.b.data(), m, kk, out, xq, wq, bias, rows.data());
  amgrad::detail::rows_to_nchw(g, rows.data(), y);
  return s;
}

template <class Engine>
ops::conv2d_grads conv2d_backward(const Engine& e, const conv2d_state& s,
                                  std::span<const float> dy, bool need_dx = true) {
  const ops::conv2d_geometry& g = s.geometry;
  amgrad::detail::require_size("amgrad::wide::conv2d_backward", "dy", dy.size(), g.output_size());
  const std::size_t m = g.gemm_m(), kk = g.gemm_k(), out = g.out_channels;
  ops::conv2d_grads grads{std::vector<float>(need_dx ? g.input_size() : 0, 0.0f),
                          std::vector<float>(g.weight_size()), std::vector<float>(out, 0.0f)};
  std::vector<float> dy_rows(m * out);
  amgrad::detail::nchw_to_rows(g, dy, dy_rows.data(), grads.dbias);
  std::vector<float> da(need_dx ? m * kk : 0), db(kk * out);
  detail::qgemm_backward(e, s.a.data(), s.b.data(), m, kk, out, s.xq, s.wq, dy_rows.data(), da, db);
  if (need_dx) {
    std::vector<float> dq(g.input_size(), 0.0f);  // col2im; padding positions drop out
    amgrad::detail::for_each_im2col(g, [&](std::size_t at, std::ptrdiff_t index) {
      if (index >= 0) dq[static_cast<std::size_t>(index)] += da[at];
    });
    detail::activation_ste(dq, s.x_inside, s.xq, grads.dx.data());
  }
  amgrad::detail::weight_ste(db, s.w_inside, s.wq, kk, out, grads.dw.data());
  return grads;
}

}  // namespace amgrad::wide
