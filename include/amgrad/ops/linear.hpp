#pragma once
// Quantized linear layer on float buffers: y[batch][out] = x[batch][in] . w[out][in]^T + bias,
// with x and w quantized (Eq. 7), the product through the AppMult (a = activation, b = weight)
// and the exact zero-point cross terms (Eq. 8). The forward returns an owned state that the
// backward consumes; nothing is global, so independent calls may run on several threads.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/ops/qgemm.hpp"
#include "amgrad/quant/affine.hpp"

namespace amgrad::ops {

struct linear_shape {
  std::size_t batch = 0, in = 0, out = 0;
};

// What the backward needs: codes in GEMM layout, the clipping masks, the params.
struct linear_state {
  linear_shape shape;
  std::vector<code_t> x_codes;          // A [batch][in]
  std::vector<code_t> w_codes;          // B [in][out] (w transposed)
  std::vector<std::uint8_t> x_inside;   // [batch][in]
  std::vector<std::uint8_t> w_inside;   // [out][in], the layout of w
  quant::params xq, wq;
  std::vector<std::int32_t> acc;        // Y = sum_k AM(X, W), [batch][out]
};

struct linear_grads {
  std::vector<float> dx;     // [batch][in]
  std::vector<float> dw;     // [out][in]
  std::vector<float> dbias;  // [out]
};

}  // namespace amgrad::ops

namespace amgrad::detail {

inline void require_size(const char* where, const char* what, std::size_t got, std::size_t want) {
  amgrad::require(got == want, where, what, " has ", got, " values, expected ", want);
}

// w[out][in] codes -> B[in][out].
inline std::vector<code_t> transpose_codes(const std::vector<code_t>& w, std::size_t rows,
                                           std::size_t cols) {
  std::vector<code_t> t(w.size());
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) t[c * rows + r] = w[r * cols + c];
  return t;
}

// Weight gradient in code units, B layout [K][out], to dw[out][K] through the clipping STE.
inline void weight_ste(const std::vector<float>& dw_codes, const std::vector<std::uint8_t>& inside,
                       const quant::params& wq, std::size_t k, std::size_t out, float* dw) {
  for (std::size_t o = 0; o < out; ++o) {
    const float inv = 1.0f / wq.scale_of(o);
    for (std::size_t p = 0; p < k; ++p)
      dw[o * k + p] = inside[o * k + p] ? dw_codes[p * out + o] * inv : 0.0f;
  }
}

}  // namespace amgrad::detail

namespace amgrad::ops {

// y must hold batch*out floats. bias may be empty. wq is per tensor or per output channel.
template <engine Engine>
linear_state linear_forward(const Engine& am, std::span<const float> x, std::span<const float> w,
                            std::span<const float> bias, linear_shape shape,
                            const quant::params& xq, const quant::params& wq, std::span<float> y) {
  using Operand = typename Engine::operand_type;
  constexpr const char* where = "amgrad::ops::linear_forward";
  detail::require_size(where, "x", x.size(), shape.batch * shape.in);
  detail::require_size(where, "w", w.size(), shape.out * shape.in);
  detail::require_size(where, "y", y.size(), shape.batch * shape.out);
  amgrad::require(shape.in > 0 && shape.out > 0, where, "empty layer ", shape.in, " -> ",
                          shape.out);
  amgrad::require(xq.channels() == 1, where, "activations are quantized per tensor");

  auto qx = quant::quantize<Operand>(x, xq);
  auto qw = quant::quantize<Operand>(w, wq, shape.out);
  linear_state s{shape,
                 std::move(qx.codes),
                 detail::transpose_codes(qw.codes, shape.out, shape.in),
                 std::move(qx.inside),
                 std::move(qw.inside),
                 xq,
                 wq,
                 std::vector<std::int32_t>(shape.batch * shape.out)};
  qgemm_forward(am, row_major<const code_t>(s.x_codes.data(), shape.batch, shape.in),
                row_major<const code_t>(s.w_codes.data(), shape.in, shape.out), xq, wq, bias,
                row_major(s.acc.data(), shape.batch, shape.out),
                row_major(y.data(), shape.batch, shape.out));
  return s;
}

// Gradients of the loss with respect to x, w and bias, given dy[batch][out].
template <engine Engine>
linear_grads linear_backward(const Engine& am, const linear_state& s, std::span<const float> dy,
                             bool need_dx = true) {
  constexpr const char* where = "amgrad::ops::linear_backward";
  const auto [batch, in, out] = s.shape;
  detail::require_size(where, "dy", dy.size(), batch * out);
  linear_grads g{std::vector<float>(need_dx ? batch * in : 0), std::vector<float>(out * in),
                 std::vector<float>(out, 0.0f)};
  std::vector<float> dx_codes(need_dx ? batch * in : 0), dw_codes(in * out), scratch;
  qgemm_backward(am, row_major<const code_t>(s.x_codes.data(), batch, in),
                 row_major<const code_t>(s.w_codes.data(), in, out), s.xq, s.wq,
                 row_major(dy.data(), batch, out),
                 need_dx ? row_major(dx_codes.data(), batch, in) : matrix_view<float>{},
                 row_major(dw_codes.data(), in, out), scratch);
  if (need_dx) {
    const float inv = 1.0f / s.xq.scale[0];
    for (std::size_t i = 0; i < dx_codes.size(); ++i)
      g.dx[i] = s.x_inside[i] ? dx_codes[i] * inv : 0.0f;
  }
  detail::weight_ste(dw_codes, s.w_inside, s.wq, in, out, g.dw.data());
  for (std::size_t i = 0; i < batch; ++i)
    for (std::size_t o = 0; o < out; ++o) g.dbias[o] += dy[i * out + o];
  return g;
}

}  // namespace amgrad::ops
