#pragma once
// Quantized 2-D convolution (NCHW, groups = 1) through im2col on codes:
//   A[(n, oy, ox)][(c, ky, kx)] = X code at the input pixel, or the zero point's code where the
//   kernel reads padding (padding in the integer domain, as in the reference recipe). After the
//   cross terms a padded tap contributes s_x s_w (AM(Z_x, W) - Z_x W): exactly 0 for the exact
//   multiplier, the AppMult's error at (Z_x, W) otherwise, which is what the hardware computes;
//   B[(c, ky, kx)][o] = W code.
// The GEMM is ops::qgemm (AppMult + Eq. 8); the backward scatters dA back with col2im and
// applies the quantizer's estimator (default: the clipping STE). No global state.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/ops/linear.hpp"
#include "amgrad/ops/qgemm.hpp"
#include "amgrad/quant/affine.hpp"

namespace amgrad::ops {

struct conv2d_geometry {
  std::size_t batch = 0, in_channels = 0, height = 0, width = 0;
  std::size_t out_channels = 0, kernel_h = 0, kernel_w = 0;
  std::size_t stride_h = 1, stride_w = 1;
  std::size_t pad_h = 0, pad_w = 0;
  std::size_t dilation_h = 1, dilation_w = 1;

  std::size_t extent_h() const { return dilation_h * (kernel_h - 1) + 1; }
  std::size_t extent_w() const { return dilation_w * (kernel_w - 1) + 1; }
  std::size_t out_h() const { return (height + 2 * pad_h - extent_h()) / stride_h + 1; }
  std::size_t out_w() const { return (width + 2 * pad_w - extent_w()) / stride_w + 1; }
  std::size_t gemm_m() const { return batch * out_h() * out_w(); }
  std::size_t gemm_k() const { return in_channels * kernel_h * kernel_w; }
  std::size_t input_size() const { return batch * in_channels * height * width; }
  std::size_t weight_size() const { return out_channels * gemm_k(); }
  std::size_t output_size() const { return batch * out_channels * out_h() * out_w(); }

  void validate(const char* where) const {
    amgrad::require(batch > 0 && in_channels > 0 && height > 0 && width > 0 &&
                                out_channels > 0 && kernel_h > 0 && kernel_w > 0,
                            where, "every size must be positive");
    amgrad::require(stride_h > 0 && stride_w > 0 && dilation_h > 0 && dilation_w > 0,
                            where, "stride and dilation must be positive");
    amgrad::require(height + 2 * pad_h >= extent_h() && width + 2 * pad_w >= extent_w(),
                            where, "the ", extent_h(), "x", extent_w(),
                            " (dilated) kernel does not fit the padded ", height + 2 * pad_h, "x",
                            width + 2 * pad_w, " input");
  }
};

struct conv2d_state {
  conv2d_geometry geometry;
  std::vector<code_t> a;                // im2col codes [M][K]
  std::vector<code_t> b;                // weight codes [K][out]
  std::vector<std::uint8_t> x_inside;   // [N][C][H][W]
  std::vector<std::uint8_t> w_inside;   // [out][C][kh][kw]
  quant::params xq, wq;
  std::vector<std::int32_t> acc;        // Y [M][out]
  // Positions v = x/s + Z for an estimator other than quant::pwl (see linear_state).
  std::vector<float> x_pos, w_pos;
};

struct conv2d_grads {
  std::vector<float> dx;     // [N][C][H][W]
  std::vector<float> dw;     // [out][C][kh][kw]
  std::vector<float> dbias;  // [out]
};

}  // namespace amgrad::ops

namespace amgrad::detail {

// Calls f(row, col, input index or -1 for padding) for every im2col entry.
template <class F>
void for_each_im2col(const ops::conv2d_geometry& g, F&& f) {
  const std::size_t oh = g.out_h(), ow = g.out_w(), kk = g.gemm_k();
  for (std::size_t n = 0; n < g.batch; ++n)
    for (std::size_t oy = 0; oy < oh; ++oy)
      for (std::size_t ox = 0; ox < ow; ++ox) {
        const std::size_t row = (n * oh + oy) * ow + ox;
        for (std::size_t c = 0; c < g.in_channels; ++c)
          for (std::size_t ky = 0; ky < g.kernel_h; ++ky) {
            // Signed arithmetic: padding makes the input coordinate negative.
            const auto iy = static_cast<std::ptrdiff_t>(oy * g.stride_h + ky * g.dilation_h) -
                            static_cast<std::ptrdiff_t>(g.pad_h);
            for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
              const auto ix = static_cast<std::ptrdiff_t>(ox * g.stride_w + kx * g.dilation_w) -
                              static_cast<std::ptrdiff_t>(g.pad_w);
              const std::size_t col = (c * g.kernel_h + ky) * g.kernel_w + kx;
              const bool inside = iy >= 0 && ix >= 0 && iy < static_cast<std::ptrdiff_t>(g.height) &&
                                  ix < static_cast<std::ptrdiff_t>(g.width);
              const std::ptrdiff_t index =
                  inside ? static_cast<std::ptrdiff_t>(((n * g.in_channels + c) * g.height +
                                                        static_cast<std::size_t>(iy)) * g.width +
                                                       static_cast<std::size_t>(ix))
                         : -1;
              f(row * kk + col, index);
            }
          }
      }
}

// The GEMM's output rows [N][OH*OW][out] -> y in NCHW, [N][out][OH*OW].
inline void rows_to_nchw(const ops::conv2d_geometry& g, const float* rows, std::span<float> y) {
  const std::size_t plane = g.out_h() * g.out_w(), out = g.out_channels;
  for (std::size_t n = 0; n < g.batch; ++n)
    for (std::size_t p = 0; p < plane; ++p)
      for (std::size_t o = 0; o < out; ++o)
        y[(n * out + o) * plane + p] = rows[(n * plane + p) * out + o];
}

// dy in NCHW -> the GEMM's rows [N][OH*OW][out]; adds the bias gradient (the sum over N, OH, OW)
// to dbias [out].
inline void nchw_to_rows(const ops::conv2d_geometry& g, std::span<const float> dy, float* rows,
                         std::vector<float>& dbias) {
  const std::size_t plane = g.out_h() * g.out_w(), out = g.out_channels;
  for (std::size_t n = 0; n < g.batch; ++n)
    for (std::size_t o = 0; o < out; ++o)
      for (std::size_t p = 0; p < plane; ++p) {
        const float v = dy[(n * out + o) * plane + p];
        rows[(n * plane + p) * out + o] = v;
        dbias[o] += v;
      }
}

}  // namespace amgrad::detail

namespace amgrad::ops {

}  // namespace amgrad::ops

namespace amgrad::detail {

// The estimator-independent parts, one instance per engine (see linear_forward_impl).
template <engine Engine>
[[gnu::noinline]] ops::conv2d_state conv2d_forward_impl(
    const Engine& am, std::span<const float> x, std::span<const float> w,
    std::span<const float> bias, const ops::conv2d_geometry& g, const quant::params& xq,
    const quant::params& wq, std::span<float> y, bool x_positions, bool w_positions) {
  using Operand = typename Engine::operand_type;
  constexpr const char* where = "amgrad::ops::conv2d_forward";
  g.validate(where);
  require_size(where, "x", x.size(), g.input_size());
  require_size(where, "w", w.size(), g.weight_size());
  require_size(where, "y", y.size(), g.output_size());
  amgrad::require(xq.channels() == 1, where, "activations are quantized per tensor");

  auto qx = quant::quantize<Operand>(x, xq);
  auto qw = quant::quantize<Operand>(w, wq, g.out_channels);
  const std::size_t m = g.gemm_m(), kk = g.gemm_k(), out = g.out_channels;
  ops::conv2d_state s{g, std::vector<code_t>(m * kk), transpose_codes(qw.codes, out, kk),
                      std::move(qx.inside), std::move(qw.inside), xq, wq,
                      std::vector<std::int32_t>(m * out),
                      estimator_positions(x, xq, 1, x_positions),
                      estimator_positions(w, wq, g.out_channels, w_positions)};
  const auto pad_code = static_cast<code_t>(Operand::code(xq.zero_point[0]));
  for_each_im2col(g, [&](std::size_t at, std::ptrdiff_t index) {
    s.a[at] = index < 0 ? pad_code : qx.codes[static_cast<std::size_t>(index)];
  });

  std::vector<float> y_rows(m * out);
  ops::qgemm_forward(am, row_major<const code_t>(s.a.data(), m, kk),
                     row_major<const code_t>(s.b.data(), kk, out), xq, wq, bias,
                     row_major(s.acc.data(), m, out), row_major(y_rows.data(), m, out));
  rows_to_nchw(g, y_rows.data(), y);
  return s;
}

// The backward in code units: dq of x [N][C][H][W] (col2im done; empty without need_dx), of w in
// B layout [K][out], and dbias.
template <engine Engine>
[[gnu::noinline]] linear_code_grads conv2d_backward_codes(const Engine& am,
                                                          const ops::conv2d_state& s,
                                                          std::span<const float> dy,
                                                          bool need_dx) {
  const ops::conv2d_geometry& g = s.geometry;
  require_size("amgrad::ops::conv2d_backward", "dy", dy.size(), g.output_size());
  const std::size_t m = g.gemm_m(), kk = g.gemm_k(), out = g.out_channels;
  linear_code_grads c{std::vector<float>(need_dx ? g.input_size() : 0, 0.0f),
                      std::vector<float>(kk * out), std::vector<float>(out, 0.0f)};
  std::vector<float> dy_rows(m * out);
  nchw_to_rows(g, dy, dy_rows.data(), c.dbias);
  std::vector<float> da(need_dx ? m * kk : 0), scratch;
  ops::qgemm_backward(am, row_major<const code_t>(s.a.data(), m, kk),
                      row_major<const code_t>(s.b.data(), kk, out), s.xq, s.wq,
                      row_major<const float>(dy_rows.data(), m, out),
                      need_dx ? row_major(da.data(), m, kk) : matrix_view<float>{},
                      row_major(c.dw.data(), kk, out), scratch);
  if (need_dx)  // col2im (padding positions drop out)
    for_each_im2col(g, [&](std::size_t at, std::ptrdiff_t index) {
      if (index >= 0) c.dx[static_cast<std::size_t>(index)] += da[at];
    });
  return c;
}

}  // namespace amgrad::detail

namespace amgrad::ops {

// x[N][C][H][W], w[out][C][kh][kw], bias empty or [out]; y[N][out][OH][OW].
// Estimators as in linear_forward: same pair to the forward and the backward.
template <quant::quantizer_estimator WeightEstimator = quant::pwl,
          quant::quantizer_estimator ActivationEstimator = quant::pwl, engine Engine>
conv2d_state conv2d_forward(const Engine& am, std::span<const float> x, std::span<const float> w,
                            std::span<const float> bias, const conv2d_geometry& g,
                            const quant::params& xq, const quant::params& wq, std::span<float> y) {
  return detail::conv2d_forward_impl(am, x, w, bias, g, xq, wq, y,
                                     detail::needs_positions<ActivationEstimator>,
                                     detail::needs_positions<WeightEstimator>);
}

template <quant::quantizer_estimator WeightEstimator = quant::pwl,
          quant::quantizer_estimator ActivationEstimator = quant::pwl, engine Engine>
conv2d_grads conv2d_backward(const Engine& am, const conv2d_state& s, std::span<const float> dy,
                             bool need_dx = true, const WeightEstimator& we = WeightEstimator{},
                             const ActivationEstimator& ae = ActivationEstimator{}) {
  using Operand = typename Engine::operand_type;
  constexpr const char* where = "amgrad::ops::conv2d_backward";
  const conv2d_geometry& g = s.geometry;
  if constexpr (detail::needs_positions<WeightEstimator>)
    detail::require_positions(where, "weight", s.w_pos.size(), g.weight_size());
  if constexpr (detail::needs_positions<ActivationEstimator>)
    if (need_dx) detail::require_positions(where, "activation", s.x_pos.size(), g.input_size());
  auto c = detail::conv2d_backward_codes(am, s, dy, need_dx);
  conv2d_grads grads{std::vector<float>(need_dx ? g.input_size() : 0),
                     std::vector<float>(g.weight_size()), std::move(c.dbias)};
  if (need_dx)
    detail::activation_estimator<Operand>(ae, c.dx, s.x_inside, s.x_pos, s.xq, grads.dx.data());
  detail::weight_estimator<Operand>(we, c.dw, s.w_inside, s.w_pos, s.wq, g.gemm_k(),
                                    g.out_channels, grads.dw.data());
  return grads;
}

}  // namespace amgrad::ops
