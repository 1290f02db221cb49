#pragma once
// Quantized linear layer on float buffers: y[batch][out] = x[batch][in] . w[out][in]^T + bias,
// with x and w quantized (Eq. 7), the product through the AppMult (a = activation, b = weight)
// and the exact zero-point cross terms (Eq. 8). The forward returns an owned state that the
// backward consumes; nothing is global, so independent calls may run on several threads.
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/ops/qgemm.hpp"
#include "amgrad/quant/affine.hpp"
#include "amgrad/quant/estimators.hpp"

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
  // Code-space positions v = x/s + Z before rounding, kept only for an estimator other than
  // quant::pwl (the default, which needs the masks alone): [batch][in] and [out][in].
  std::vector<float> x_pos, w_pos;
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

// An estimator other than pwl needs the positions v = x/s + Z (pwl needs the masks alone).
template <class E>
inline constexpr bool needs_positions = !std::is_same_v<E, quant::pwl>;

// Positions v = x/s + Z of a channel-major tensor (empty when not `keep`).
inline std::vector<float> estimator_positions(std::span<const float> x, const quant::params& p,
                                              std::size_t channels, bool keep) {
  if (!keep) return {};
  std::vector<float> v(x.size());
  const std::size_t inner = x.size() / channels;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t c = i / inner;
    v[i] = x[i] * (1.0f / p.scale_of(c)) + static_cast<float>(p.zero_point_of(c));
  }
  return v;
}

// dq * Q̂'(v) / s for one value: a clipped estimator is zero where the quantizer clamped.
template <class Operand, class E>
float estimator_gradient(const E& e, float dq, bool inside, float v, float scale, int zero_point) {
  if (E::clipped && !inside) return 0.0f;
  const double d = estimator_derivative(e, v, Operand::min_value, Operand::max_value, zero_point);
  return static_cast<float>(dq * d / scale);
}

inline void require_positions(const char* where, const char* what, std::size_t got,
                              std::size_t want) {
  amgrad::require(got == want, where, "the ", what, " estimator needs the positions that a ",
                  "forward with the same estimator stores (got ", got, ", expected ", want,
                  "): pass the same estimators to the forward and the backward");
}

// Weight gradient in code units, B layout [K][out], to dw[out][K] through estimator E.
template <class Operand, class E>
void weight_estimator(const E& e, const std::vector<float>& dw_codes, const std::vector<std::uint8_t>& inside,
                      const std::vector<float>& pos, const quant::params& wq, std::size_t k,
                      std::size_t out, float* dw) {
  if constexpr (std::is_same_v<E, quant::pwl>) {
    weight_ste(dw_codes, inside, wq, k, out, dw);
  } else {
    for (std::size_t o = 0; o < out; ++o)
      for (std::size_t p = 0; p < k; ++p) {
        const std::size_t i = o * k + p;
        dw[i] = estimator_gradient<Operand>(e, dw_codes[p * out + o], inside[i] != 0, pos[i],
                                               wq.scale_of(o), wq.zero_point_of(o));
      }
  }
}

// Activation gradient dq[...] (code units, per-tensor params) through estimator E.
template <class Operand, class E>
void activation_estimator(const E& e, const std::vector<float>& dq, const std::vector<std::uint8_t>& inside,
                          const std::vector<float>& pos, const quant::params& xq, float* dx) {
  if constexpr (std::is_same_v<E, quant::pwl>) {
    const float inv = 1.0f / xq.scale[0];
    for (std::size_t i = 0; i < dq.size(); ++i) dx[i] = inside[i] ? dq[i] * inv : 0.0f;
  } else {
    for (std::size_t i = 0; i < dq.size(); ++i)
      dx[i] = estimator_gradient<Operand>(e, dq[i], inside[i] != 0, pos[i], xq.scale[0],
                                             xq.zero_point[0]);
  }
}


// The estimator-independent parts of the ops, one instance per engine (not per estimator pair:
// noinline keeps the GEMMs out of the wrappers that a run-time estimator choice instantiates).
template <engine Engine>
[[gnu::noinline]] ops::linear_state linear_forward_impl(
    const Engine& am, std::span<const float> x, std::span<const float> w,
    std::span<const float> bias, ops::linear_shape shape, const quant::params& xq,
    const quant::params& wq, std::span<float> y, bool x_positions, bool w_positions) {
  using Operand = typename Engine::operand_type;
  constexpr const char* where = "amgrad::ops::linear_forward";
  require_size(where, "x", x.size(), shape.batch * shape.in);
  require_size(where, "w", w.size(), shape.out * shape.in);
  require_size(where, "y", y.size(), shape.batch * shape.out);
  amgrad::require(shape.in > 0 && shape.out > 0, where, "empty layer ", shape.in, " -> ",
                          shape.out);
  amgrad::require(xq.channels() == 1, where, "activations are quantized per tensor");

  auto qx = quant::quantize<Operand>(x, xq);
  auto qw = quant::quantize<Operand>(w, wq, shape.out);
  ops::linear_state s{shape,
                      std::move(qx.codes),
                      transpose_codes(qw.codes, shape.out, shape.in),
                      std::move(qx.inside),
                      std::move(qw.inside),
                      xq,
                      wq,
                      std::vector<std::int32_t>(shape.batch * shape.out),
                      estimator_positions(x, xq, 1, x_positions),
                      estimator_positions(w, wq, shape.out, w_positions)};
  ops::qgemm_forward(am, row_major<const code_t>(s.x_codes.data(), shape.batch, shape.in),
                     row_major<const code_t>(s.w_codes.data(), shape.in, shape.out), xq, wq, bias,
                     row_major(s.acc.data(), shape.batch, shape.out),
                     row_major(y.data(), shape.batch, shape.out));
  return s;
}

// The backward in code units (the AppMult gradient path): dq of x [batch][in] (empty without
// need_dx), of w in B layout [in][out], and dbias.
struct linear_code_grads {
  std::vector<float> dx, dw, dbias;
};

template <engine Engine>
[[gnu::noinline]] linear_code_grads linear_backward_codes(const Engine& am,
                                                          const ops::linear_state& s,
                                                          std::span<const float> dy,
                                                          bool need_dx) {
  const auto [batch, in, out] = s.shape;
  require_size("amgrad::ops::linear_backward", "dy", dy.size(), batch * out);
  linear_code_grads c{std::vector<float>(need_dx ? batch * in : 0), std::vector<float>(in * out),
                      std::vector<float>(out, 0.0f)};
  std::vector<float> scratch;
  ops::qgemm_backward(am, row_major<const code_t>(s.x_codes.data(), batch, in),
                      row_major<const code_t>(s.w_codes.data(), in, out), s.xq, s.wq,
                      row_major(dy.data(), batch, out),
                      need_dx ? row_major(c.dx.data(), batch, in) : matrix_view<float>{},
                      row_major(c.dw.data(), in, out), scratch);
  for (std::size_t i = 0; i < batch; ++i)
    for (std::size_t o = 0; o < out; ++o) c.dbias[o] += dy[i * out + o];
  return c;
}

}  // namespace amgrad::detail

namespace amgrad::ops {

// The quantizer estimators (quant::ste, pwl, htge<t>, mad) are chosen separately for the weights
// (WeightEstimator) and the activations (ActivationEstimator); the default, quant::pwl, is the
// clipping STE. Pass the same pair to the forward and the backward; an estimator with run-time
// parameters (quant::htge_runtime) goes to the backward as an object (default: value-initialized):
//     auto s = linear_forward<quant::htge<3.0>>(am, x, w, bias, shape, xq, wq, y);
//     auto g = linear_backward<quant::htge<3.0>>(am, s, dy);
//     auto g2 = linear_backward(am, s2, dy, true, quant::htge_runtime(3.0), quant::pwl{});
// y must hold batch*out floats. bias may be empty. wq is per tensor or per output channel.
template <quant::quantizer_estimator WeightEstimator = quant::pwl,
          quant::quantizer_estimator ActivationEstimator = quant::pwl, engine Engine>
linear_state linear_forward(const Engine& am, std::span<const float> x, std::span<const float> w,
                            std::span<const float> bias, linear_shape shape,
                            const quant::params& xq, const quant::params& wq, std::span<float> y) {
  return detail::linear_forward_impl(am, x, w, bias, shape, xq, wq, y,
                                     detail::needs_positions<ActivationEstimator>,
                                     detail::needs_positions<WeightEstimator>);
}

// Gradients of the loss with respect to x, w and bias, given dy[batch][out].
template <quant::quantizer_estimator WeightEstimator = quant::pwl,
          quant::quantizer_estimator ActivationEstimator = quant::pwl, engine Engine>
linear_grads linear_backward(const Engine& am, const linear_state& s, std::span<const float> dy,
                             bool need_dx = true, const WeightEstimator& we = WeightEstimator{},
                             const ActivationEstimator& ae = ActivationEstimator{}) {
  using Operand = typename Engine::operand_type;
  constexpr const char* where = "amgrad::ops::linear_backward";
  const auto [batch, in, out] = s.shape;
  if constexpr (detail::needs_positions<WeightEstimator>)
    detail::require_positions(where, "weight", s.w_pos.size(), out * in);
  if constexpr (detail::needs_positions<ActivationEstimator>)
    if (need_dx) detail::require_positions(where, "activation", s.x_pos.size(), batch * in);
  auto c = detail::linear_backward_codes(am, s, dy, need_dx);
  linear_grads g{std::vector<float>(need_dx ? batch * in : 0), std::vector<float>(out * in),
                 std::move(c.dbias)};
  if (need_dx)
    detail::activation_estimator<Operand>(ae, c.dx, s.x_inside, s.x_pos, s.xq, g.dx.data());
  detail::weight_estimator<Operand>(we, c.dw, s.w_inside, s.w_pos, s.wq, in, out, g.dw.data());
  return g;
}

}  // namespace amgrad::ops
