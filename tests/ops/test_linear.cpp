#include <cmath>
#include <limits>

#include "amgrad/ops/linear.hpp"
#include "support.hpp"

using namespace amgrad;

namespace {

// (operand, mapping) pairs: unsigned with zero points, and signed symmetric.
template <class Op>
quant::mapping mapping_for() {
  return Op::is_signed ? quant::mapping::symmetric : quant::mapping::affine;
}

const auto operands = hana::tuple_t<u8, u7, s8>;
const auto schemes = hana::make_tuple(ste{}, lut1d{}, lut2d{});
const auto models = hana::make_tuple(exact{}, truncated{7});

// Independent quantizer (test side): value and clip mask as torch's fake-quant defines them.
template <class Op>
std::pair<int, bool> q_of(float x, float s, int z) {
  const float q = std::nearbyint(x * (1.0f / s)) + static_cast<float>(z);
  const float c = std::clamp(q, float(Op::min_value), float(Op::max_value));
  return {static_cast<int>(c), q == c};
}

struct problem {
  std::size_t batch, in, out;
  std::vector<float> x, w, bias;
};

problem random_problem(std::size_t batch, std::size_t in, std::size_t out) {
  // x has a few values beyond the calibrated range so the clipping masks are exercised.
  return {batch, in, out, test::random_floats(batch * in, -0.6f, 1.2f),
          test::random_floats(out * in, -0.5f, 0.3f), test::random_floats(out, -0.1f, 0.1f)};
}

template <class Op>
std::pair<quant::params, quant::params> calibrate(const problem& p) {
  return {quant::from_range<Op>(-0.5f, 1.0f, mapping_for<Op>()),
          quant::from_channels<Op>(p.w, p.out, mapping_for<Op>())};
}

}  // namespace

TEST_CASE("linear forward: Y is bit-identical to the reference kernel on the codes, y is Eq. 8") {
  hana::for_each(models, [](const auto& model) {
    hana::for_each(operands, [&](auto t) {
      using Op = typename decltype(t)::type;
      using Model = std::decay_t<decltype(model)>;
      CAPTURE(to_string(Op::format));
      CAPTURE(Model::name);
      const appmult<Model, Op, ste> am(model);
      const auto p = random_problem(13, 37, 11);
      const auto [xq, wq] = calibrate<Op>(p);
      std::vector<float> y(p.batch * p.out);
      const auto s = ops::linear_forward(am, p.x, p.w, p.bias, {p.batch, p.in, p.out}, xq, wq, y);

      // The codes are the test-side quantizer's, in the GEMM layout.
      for (std::size_t i = 0; i < p.batch * p.in; ++i)
        REQUIRE(Op::value(s.x_codes[i]) == q_of<Op>(p.x[i], xq.scale[0], xq.zero_point[0]).first);
      for (std::size_t o = 0; o < p.out; ++o)
        for (std::size_t k = 0; k < p.in; ++k)
          REQUIRE(Op::value(s.w_codes[k * p.out + o]) ==
                  q_of<Op>(p.w[o * p.in + k], wq.scale[o], wq.zero_point[o]).first);

      std::vector<std::int32_t> ref(p.batch * p.out);
      kernel::reference::forward(make_product_table<Op>(model),
                                 row_major<const code_t>(s.x_codes.data(), p.batch, p.in),
                                 row_major<const code_t>(s.w_codes.data(), p.in, p.out),
                                 row_major(ref.data(), p.batch, p.out));
      REQUIRE(s.acc == ref);

      for (std::size_t i = 0; i < p.batch; ++i)
        for (std::size_t o = 0; o < p.out; ++o) {
          double sx = 0, sw = 0;
          for (std::size_t k = 0; k < p.in; ++k) {
            sx += Op::value(s.x_codes[i * p.in + k]);
            sw += Op::value(s.w_codes[k * p.out + o]);
          }
          const double zx = xq.zero_point[0], zw = wq.zero_point[o];
          const double want = double(xq.scale[0]) * wq.scale[o] *
                                  (ref[i * p.out + o] - zx * sw - zw * sx + double(p.in) * zw * zx) +
                              p.bias[o];
          CHECK(y[i * p.out + o] == doctest::Approx(want).epsilon(1e-6));
        }
    });
  });
}

TEST_CASE("linear backward equals a float64 evaluation of the same equations, every scheme") {
  hana::for_each(schemes, [](const auto& scheme) {
    hana::for_each(operands, [&](auto t) {
      using Op = typename decltype(t)::type;
      using Scheme = std::decay_t<decltype(scheme)>;
      CAPTURE(to_string(Op::format));
      CAPTURE(Scheme::name);
      const appmult<truncated, Op, Scheme> am(truncated{6}, scheme);
      const auto g = am.gradients();
      const auto p = random_problem(9, 21, 7);
      const auto [xq, wq] = calibrate<Op>(p);
      std::vector<float> y(p.batch * p.out);
      const auto s = ops::linear_forward(am, p.x, p.w, p.bias, {p.batch, p.in, p.out}, xq, wq, y);
      const auto dy = test::random_floats(p.batch * p.out);
      const auto grads = ops::linear_backward(am, s, dy);

      const double sx = xq.scale[0];
      const int zx = xq.zero_point[0];
      double max_dx = 0, max_dw = 0;
      std::vector<double> dx(p.batch * p.in, 0.0), dw(p.out * p.in, 0.0);
      for (std::size_t i = 0; i < p.batch; ++i)
        for (std::size_t k = 0; k < p.in; ++k) {
          const auto [xv, xin] = q_of<Op>(p.x[i * p.in + k], xq.scale[0], zx);
          for (std::size_t o = 0; o < p.out; ++o) {
            const auto [wv, win] = q_of<Op>(p.w[o * p.in + k], wq.scale[o], wq.zero_point[o]);
            const double gij = double(dy[i * p.out + o]) * sx * wq.scale[o];
            const int ac = Op::code(xv), bc = Op::code(wv);
            if (xin) dx[i * p.in + k] += gij * (double(g.da(ac, bc)) - wq.zero_point[o]) / sx;
            if (win) dw[o * p.in + k] += gij * (double(g.db(ac, bc)) - zx) / wq.scale[o];
          }
        }
      for (double v : dx) max_dx = std::max(max_dx, std::abs(v));
      for (double v : dw) max_dw = std::max(max_dw, std::abs(v));
      REQUIRE(max_dx > 0);
      REQUIRE(max_dw > 0);
      for (std::size_t i = 0; i < dx.size(); ++i)
        REQUIRE(grads.dx[i] == doctest::Approx(dx[i]).epsilon(1e-4).scale(max_dx));
      for (std::size_t i = 0; i < dw.size(); ++i)
        REQUIRE(grads.dw[i] == doctest::Approx(dw[i]).epsilon(1e-4).scale(max_dw));
      for (std::size_t o = 0; o < p.out; ++o) {
        double db = 0;
        for (std::size_t i = 0; i < p.batch; ++i) db += dy[i * p.out + o];
        CHECK(grads.dbias[o] == doctest::Approx(db));
      }
    });
  });
}

TEST_CASE("exact multiplier + STE equals float fake-quant matmul, forward and backward") {
  hana::for_each(operands, [](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    const appmult<exact, Op, ste> am;
    const auto p = random_problem(16, 40, 12);
    const auto [xq, wq] = calibrate<Op>(p);
    std::vector<float> y(p.batch * p.out);
    const auto s = ops::linear_forward(am, p.x, p.w, p.bias, {p.batch, p.in, p.out}, xq, wq, y);
    const auto dy = test::random_floats(p.batch * p.out);
    const auto grads = ops::linear_backward(am, s, dy);

    // Fake-quant tensors and their masks, then plain float64 matmul and its gradients.
    std::vector<double> xh(p.x.size()), wh(p.w.size());
    std::vector<bool> xm(p.x.size()), wm(p.w.size());
    for (std::size_t i = 0; i < p.x.size(); ++i) {
      const auto [v, in] = q_of<Op>(p.x[i], xq.scale[0], xq.zero_point[0]);
      xh[i] = double(xq.scale[0]) * (v - xq.zero_point[0]);
      xm[i] = in;
    }
    for (std::size_t i = 0; i < p.w.size(); ++i) {
      const std::size_t o = i / p.in;
      const auto [v, in] = q_of<Op>(p.w[i], wq.scale[o], wq.zero_point[o]);
      wh[i] = double(wq.scale[o]) * (v - wq.zero_point[o]);
      wm[i] = in;
    }
    double float_error = 0;
    for (std::size_t i = 0; i < p.batch; ++i)
      for (std::size_t o = 0; o < p.out; ++o) {
        double fq = p.bias[o], fl = p.bias[o];
        for (std::size_t k = 0; k < p.in; ++k) {
          fq += xh[i * p.in + k] * wh[o * p.in + k];
          fl += double(p.x[i * p.in + k]) * p.w[o * p.in + k];
        }
        CHECK(y[i * p.out + o] == doctest::Approx(fq).epsilon(1e-5).scale(1.0));
        float_error = std::max(float_error, std::abs(y[i * p.out + o] - fl));
      }
    // And the unquantized product is only a quantization error away (clipped x excluded from
    // a tight bound, so this bound is loose; it fails if the dequantization were wrong).
    CHECK(float_error < (Op::bits >= 8 ? 0.6 : 1.0));

    for (std::size_t i = 0; i < p.batch; ++i)
      for (std::size_t k = 0; k < p.in; ++k) {
        double d = 0;
        for (std::size_t o = 0; o < p.out; ++o) d += double(dy[i * p.out + o]) * wh[o * p.in + k];
        CHECK(grads.dx[i * p.in + k] == doctest::Approx(xm[i * p.in + k] ? d : 0.0).epsilon(1e-4).scale(1.0));
      }
    for (std::size_t o = 0; o < p.out; ++o)
      for (std::size_t k = 0; k < p.in; ++k) {
        double d = 0;
        for (std::size_t i = 0; i < p.batch; ++i) d += double(dy[i * p.out + o]) * xh[i * p.in + k];
        CHECK(grads.dw[o * p.in + k] == doctest::Approx(wm[o * p.in + k] ? d : 0.0).epsilon(1e-4).scale(1.0));
      }
  });
}

TEST_CASE("linear: bad shapes and params throw amgrad::error") {
  const appmult<exact, u8, ste> am;
  const auto p = random_problem(4, 5, 3);
  const auto [xq, wq] = calibrate<u8>(p);
  std::vector<float> y(4 * 3), short_y(5);
  CHECK_THROWS_AS(ops::linear_forward(am, p.x, p.w, p.bias, {4, 5, 3}, xq, wq, short_y), amgrad::error);
  CHECK_THROWS_AS(ops::linear_forward(am, p.x, p.w, p.bias, {4, 6, 3}, xq, wq, y), amgrad::error);
  const std::vector<float> bad_bias(2);
  CHECK_THROWS_AS(ops::linear_forward(am, p.x, p.w, bad_bias, {4, 5, 3}, xq, wq, y), amgrad::error);
  // Activations must be per tensor; weights per tensor or per output channel (3 here).
  CHECK_THROWS_AS(ops::linear_forward(am, p.x, p.w, p.bias, {4, 5, 3}, wq, wq, y), amgrad::error);
  const auto two = quant::make_params<u8>({0.1f, 0.1f}, {0, 0});
  CHECK_THROWS_AS(ops::linear_forward(am, p.x, p.w, p.bias, {4, 5, 3}, xq, two, y), amgrad::error);
  quant::params zero_scale{{0.0f}, {0}};
  CHECK_THROWS_AS(ops::linear_forward(am, p.x, p.w, p.bias, {4, 5, 3}, zero_scale, wq, y), amgrad::error);
  quant::params nan_scale{{std::numeric_limits<float>::quiet_NaN()}, {0}};
  CHECK_THROWS_AS(ops::linear_forward(am, p.x, p.w, p.bias, {4, 5, 3}, xq, nan_scale, y), amgrad::error);
  auto x_nan = p.x;
  x_nan[3] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(ops::linear_forward(am, x_nan, p.w, p.bias, {4, 5, 3}, xq, wq, y), amgrad::error);
  const auto s = ops::linear_forward(am, p.x, p.w, p.bias, {4, 5, 3}, xq, wq, y);
  CHECK_THROWS_AS(ops::linear_backward(am, s, short_y), amgrad::error);
}
