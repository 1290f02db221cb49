#include <cmath>
#include <limits>

#include "amgrad/ops/conv2d.hpp"
#include "support.hpp"

using namespace amgrad;

namespace {

// Geometries that exercise stride, padding, dilation and non-square shapes.
std::vector<ops::conv2d_geometry> geometries() {
  std::vector<ops::conv2d_geometry> out;
  out.push_back({2, 3, 7, 6, 4, 3, 3});                        // plain
  out.push_back({1, 2, 9, 8, 3, 3, 2, 2, 1, 1, 2});            // stride 2, padding 1/2
  out.push_back({2, 2, 8, 9, 5, 2, 3, 1, 2, 2, 1, 2, 2});      // dilation 2
  return out;
}

template <class Op>
std::pair<int, bool> q_of(float x, float s, int z) {
  const float q = std::nearbyint(x * (1.0f / s)) + static_cast<float>(z);
  const float c = std::clamp(q, float(Op::min_value), float(Op::max_value));
  return {static_cast<int>(c), q == c};
}

// Calls f(n, o, oy, ox, c, ky, kx, iy, ix, inside) for every tap of a direct convolution.
template <class F>
void for_each_tap(const ops::conv2d_geometry& g, F&& f) {
  for (std::size_t n = 0; n < g.batch; ++n)
    for (std::size_t o = 0; o < g.out_channels; ++o)
      for (std::size_t oy = 0; oy < g.out_h(); ++oy)
        for (std::size_t ox = 0; ox < g.out_w(); ++ox)
          for (std::size_t c = 0; c < g.in_channels; ++c)
            for (std::size_t ky = 0; ky < g.kernel_h; ++ky)
              for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
                const long iy = long(oy * g.stride_h + ky * g.dilation_h) - long(g.pad_h);
                const long ix = long(ox * g.stride_w + kx * g.dilation_w) - long(g.pad_w);
                const bool in = iy >= 0 && ix >= 0 && iy < long(g.height) && ix < long(g.width);
                f(n, o, oy, ox, c, ky, kx, in ? std::size_t(iy) : 0, in ? std::size_t(ix) : 0, in);
              }
}

struct case_data {
  std::vector<float> x, w, bias;
  quant::params xq, wq;
};

template <class Op>
case_data make_case(const ops::conv2d_geometry& g) {
  case_data d{test::random_floats(g.input_size(), -0.2f, 1.1f),
              test::random_floats(g.weight_size(), -0.4f, 0.5f),
              test::random_floats(g.out_channels, -0.1f, 0.1f), {}, {}};
  d.xq = quant::from_range<Op>(0.0f, 1.0f);  // x below 0 or above 1 is clipped
  d.wq = quant::from_channels<Op>(d.w, g.out_channels);
  return d;
}

}  // namespace

TEST_CASE("conv2d forward: Y equals a direct AppMult convolution padded with the zero point") {
  using Op = u8;
  const truncated model{8};
  const appmult<truncated, Op, ste> am(model);
  for (const auto& g : geometries()) {
    const auto d = make_case<Op>(g);
    std::vector<float> y(g.output_size());
    const auto s = ops::conv2d_forward(am, d.x, d.w, d.bias, g, d.xq, d.wq, y);
    const std::size_t plane = g.out_h() * g.out_w();
    const int zx = d.xq.zero_point[0];

    std::vector<std::int64_t> acc(g.output_size(), 0), sx(g.output_size(), 0),
        sw(g.out_channels, 0);
    for_each_tap(g, [&](auto n, auto o, auto oy, auto ox, auto c, auto ky, auto kx, auto iy,
                        auto ix, bool in) {
      const int xv = in ? q_of<Op>(d.x[((n * g.in_channels + c) * g.height + iy) * g.width + ix],
                                   d.xq.scale[0], zx).first
                        : zx;
      const int wv = q_of<Op>(d.w[((o * g.in_channels + c) * g.kernel_h + ky) * g.kernel_w + kx],
                              d.wq.scale[o], d.wq.zero_point[o]).first;
      const std::size_t at = (n * g.out_channels + o) * plane + oy * g.out_w() + ox;
      acc[at] += model(Op{}, xv, wv);
      sx[at] += xv;
      if (n == 0 && oy == 0 && ox == 0) sw[o] += wv;
    });
    for (std::size_t n = 0; n < g.batch; ++n)
      for (std::size_t o = 0; o < g.out_channels; ++o)
        for (std::size_t p = 0; p < plane; ++p) {
          const std::size_t at = (n * g.out_channels + o) * plane + p;
          REQUIRE(s.acc[(n * plane + p) * g.out_channels + o] == acc[at]);  // bit-identical
          const double zw = d.wq.zero_point[o];
          const double want = double(d.xq.scale[0]) * d.wq.scale[o] *
                                  (double(acc[at]) - zx * double(sw[o]) - zw * double(sx[at]) +
                                   double(g.gemm_k()) * zw * zx) +
                              d.bias[o];
          CHECK(y[at] == doctest::Approx(want).epsilon(1e-6));
        }
    // And the engine's int32 Y is the reference kernel's on the im2col codes.
    std::vector<std::int32_t> ref(s.acc.size());
    kernel::reference::forward(make_product_table<Op>(model),
                               row_major<const code_t>(s.a.data(), g.gemm_m(), g.gemm_k()),
                               row_major<const code_t>(s.b.data(), g.gemm_k(), g.out_channels),
                               row_major(ref.data(), g.gemm_m(), g.out_channels));
    CHECK(ref == s.acc);
  }
}

TEST_CASE("conv2d backward equals a float64 direct-convolution evaluation, every scheme") {
  using Op = u7;
  const auto schemes = hana::make_tuple(ste{}, lut1d{}, lut2d{});
  hana::for_each(schemes, [](const auto& scheme) {
    using Scheme = std::decay_t<decltype(scheme)>;
    CAPTURE(Scheme::name);
    const appmult<truncated, Op, Scheme> am(truncated{5}, scheme);
    const auto gt = am.gradients();
    for (const auto& g : geometries()) {
      const auto d = make_case<Op>(g);
      std::vector<float> y(g.output_size());
      const auto s = ops::conv2d_forward(am, d.x, d.w, d.bias, g, d.xq, d.wq, y);
      const auto dy = test::random_floats(g.output_size());
      const auto grads = ops::conv2d_backward(am, s, dy);

      const std::size_t plane = g.out_h() * g.out_w();
      const double sxs = d.xq.scale[0];
      const int zx = d.xq.zero_point[0];
      std::vector<double> dx(g.input_size(), 0), dw(g.weight_size(), 0);
      for_each_tap(g, [&](auto n, auto o, auto oy, auto ox, auto c, auto ky, auto kx, auto iy,
                          auto ix, bool in) {
        const std::size_t xi = ((n * g.in_channels + c) * g.height + iy) * g.width + ix;
        const std::size_t wi = ((o * g.in_channels + c) * g.kernel_h + ky) * g.kernel_w + kx;
        const auto [xv, xin] = in ? q_of<Op>(d.x[xi], d.xq.scale[0], zx) : std::pair{zx, false};
        const auto [wv, win] = q_of<Op>(d.w[wi], d.wq.scale[o], d.wq.zero_point[o]);
        const double gij = double(dy[(n * g.out_channels + o) * plane + oy * g.out_w() + ox]) *
                           sxs * d.wq.scale[o];
        const int ac = Op::code(xv), bc = Op::code(wv);
        if (xin) dx[xi] += gij * (double(gt.da(ac, bc)) - d.wq.zero_point[o]) / sxs;
        if (win) dw[wi] += gij * (double(gt.db(ac, bc)) - zx) / d.wq.scale[o];
      });
      double mx = 0, mw = 0;
      for (double v : dx) mx = std::max(mx, std::abs(v));
      for (double v : dw) mw = std::max(mw, std::abs(v));
      REQUIRE(mx > 0);
      REQUIRE(mw > 0);
      for (std::size_t i = 0; i < dx.size(); ++i)
        REQUIRE(grads.dx[i] == doctest::Approx(dx[i]).epsilon(1e-4).scale(mx));
      for (std::size_t i = 0; i < dw.size(); ++i)
        REQUIRE(grads.dw[i] == doctest::Approx(dw[i]).epsilon(1e-4).scale(mw));
    }
  });
}

TEST_CASE("conv2d, exact multiplier + STE: forward is the float fake-quant convolution") {
  using Op = u8;
  const appmult<exact, Op, ste> am;
  for (const auto& g : geometries()) {
    const auto d = make_case<Op>(g);
    std::vector<float> y(g.output_size());
    ops::conv2d_forward(am, d.x, d.w, d.bias, g, d.xq, d.wq, y);
    const std::size_t plane = g.out_h() * g.out_w();
    std::vector<double> want(g.output_size(), 0), plain(g.output_size(), 0);
    for_each_tap(g, [&](auto n, auto o, auto oy, auto ox, auto c, auto ky, auto kx, auto iy,
                        auto ix, bool in) {
      if (!in) return;  // zero padding in float
      const float xf = d.x[((n * g.in_channels + c) * g.height + iy) * g.width + ix];
      const float wf = d.w[((o * g.in_channels + c) * g.kernel_h + ky) * g.kernel_w + kx];
      const auto [xv, xin] = q_of<Op>(xf, d.xq.scale[0], d.xq.zero_point[0]);
      const auto [wv, win] = q_of<Op>(wf, d.wq.scale[o], d.wq.zero_point[o]);
      const std::size_t at = (n * g.out_channels + o) * plane + oy * g.out_w() + ox;
      want[at] += double(d.xq.scale[0]) * (xv - d.xq.zero_point[0]) * d.wq.scale[o] *
                  (wv - d.wq.zero_point[o]);
      plain[at] += double(std::clamp(xf, 0.0f, 1.0f)) * wf;
    });
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double b = d.bias[i / plane % g.out_channels];
      CHECK(y[i] == doctest::Approx(want[i] + b).epsilon(1e-5).scale(1.0));
      // Within the quantization error of the unquantized convolution (x clipped to [0, 1]).
      CHECK(std::abs(y[i] - (plain[i] + b)) < 0.05);
    }
  }
}

TEST_CASE("conv2d: bad geometry, shapes and params throw amgrad::error") {
  const appmult<exact, u8, ste> am;
  ops::conv2d_geometry g{1, 2, 5, 5, 3, 3, 3};
  const auto d = make_case<u8>(g);
  std::vector<float> y(g.output_size());
  CHECK_NOTHROW(ops::conv2d_forward(am, d.x, d.w, d.bias, g, d.xq, d.wq, y));
  auto big = g;
  big.kernel_h = 6;  // does not fit a 5x5 input without padding
  CHECK_THROWS_AS(ops::conv2d_forward(am, d.x, d.w, d.bias, big, d.xq, d.wq, y), amgrad::error);
  auto zero_stride = g;
  zero_stride.stride_w = 0;
  CHECK_THROWS_AS(ops::conv2d_forward(am, d.x, d.w, d.bias, zero_stride, d.xq, d.wq, y),
                  amgrad::error);
  std::vector<float> short_x(d.x.begin(), d.x.end() - 1);
  CHECK_THROWS_AS(ops::conv2d_forward(am, short_x, d.w, d.bias, g, d.xq, d.wq, y), amgrad::error);
  quant::params negative{{-0.1f}, {0}};
  CHECK_THROWS_AS(ops::conv2d_forward(am, d.x, d.w, d.bias, g, negative, d.wq, y), amgrad::error);
  const auto s = ops::conv2d_forward(am, d.x, d.w, d.bias, g, d.xq, d.wq, y);
  std::vector<float> dy(g.output_size() + 1);
  CHECK_THROWS_AS(ops::conv2d_backward(am, s, dy), amgrad::error);
}

// What a padded tap contributes: with the input all at the zero point (value 0 in float), every
// tap, padded or not, reads Z_x, and y = s_x s_w sum_taps (AM(Z_x, W) - Z_x W) (+ bias): zero
// for the exact multiplier, the AppMult's own error at (Z_x, W) otherwise.
TEST_CASE("conv2d: a padded tap contributes s_x s_w (AM(Zx, W) - Zx W), zero only when exact") {
  using Op = u8;
  ops::conv2d_geometry g{1, 1, 1, 1, 1, 3, 3};
  g.pad_h = g.pad_w = 1;  // a 1x1 image: 8 of the 9 taps read padding
  std::vector<float> x{0.0f}, w{0.9f, -0.4f, 0.7f, 0.2f, -1.0f, 0.5f, 0.3f, -0.8f, 1.0f}, y(1);
  const auto xq = quant::from_range<Op>(-1.0f, 3.0f);  // zero point inside the code range
  const auto wq = quant::from_channels<Op>(w, 1);
  const appmult<truncated, Op, ste> approx(truncated{9});
  const appmult<exact, Op, ste> accurate;
  ops::conv2d_forward(accurate, x, w, {}, g, xq, wq, y);
  CHECK(y[0] == 0.0f);
  ops::conv2d_forward(approx, x, w, {}, g, xq, wq, y);
  const int zx = xq.zero_point[0];
  double want = 0;
  for (float wf : w) {
    bool inside = false;
    const int wv = quant::quantize_value<Op>(wf, 1.0f / wq.scale[0], wq.zero_point[0], inside);
    want += static_cast<double>(approx.lut().at_value(zx, wv)) - static_cast<double>(zx) * wv;
  }
  want *= static_cast<double>(xq.scale[0]) * wq.scale[0];
  CHECK(want != 0.0);
  CHECK(y[0] == doctest::Approx(want).epsilon(1e-5));
}
