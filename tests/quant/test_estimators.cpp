#include <cmath>
#include <vector>

#include "amgrad/ops/conv2d.hpp"
#include "amgrad/ops/linear.hpp"
#include "amgrad/quant/alignment.hpp"
#include "amgrad/quant/estimators.hpp"
#include "support.hpp"

using namespace amgrad;

namespace {

// Closed forms of htge<t> in code units (boundary b a half-integer, v - b in [-1/2, 1/2]).
double htge_alpha(double t) { return t * t / (t + std::sinh(t)); }
double htge_remap(double t, double v) {
  const double b = std::floor(v) + 0.5;  // the tanh's center, v - b in [-1/2, 1/2)
  const double d = v - b;
  return b + htge_alpha(t) / t * (d + std::sinh(2 * t * d) / (2 * t));
}

// An estimator that is zero on part of the bin: α must refuse it.
struct gappy {
  static constexpr const char* name = "gappy";
  static constexpr bool clipped = true, cyclical = true;
  static double derivative(double v, double, double) {
    return std::abs(v - std::floor(v) - 0.5) < 0.1 ? 0.0 : 1.0;
  }
};

template <class E>
double fd(double v, double lo, double hi, double h = 1e-6) {
  return (E::surrogate(v + h, lo, hi) - E::surrogate(v - h, lo, hi)) / (2 * h);
}

}  // namespace

TEST_CASE("estimators: hand values of Q̂' and Q̂") {
  // 2-bit signed: lo = -2, hi = 1, window [-2.5, 1.5].
  CHECK(quant::ste::derivative(7.0, -2, 1) == 1.0);
  CHECK(quant::ste::surrogate(7.25, -2, 1) == 7.25);
  CHECK(quant::pwl::derivative(1.5, -2, 1) == 1.0);
  CHECK(quant::pwl::derivative(1.5001, -2, 1) == 0.0);
  CHECK(quant::pwl::derivative(-2.5001, -2, 1) == 0.0);
  CHECK(quant::pwl::surrogate(4.0, -2, 1) == 1.5);
  using h2 = quant::htge<2.0>;
  CHECK(h2::derivative(0.5, -2, 1) == doctest::Approx(1.0).epsilon(1e-15));  // t/2 at a boundary
  CHECK(h2::derivative(0.0, -2, 1) == doctest::Approx(0.41997434161402614).epsilon(1e-14));  // sech²(1)
  CHECK(h2::derivative(1.0, -2, 1) == doctest::Approx(0.41997434161402614).epsilon(1e-14));
  CHECK(h2::derivative(1.6, -2, 1) == 0.0);  // clipped
  CHECK(h2::surrogate(0.5, -2, 1) == doctest::Approx(0.5));
  CHECK(h2::surrogate(0.25, -2, 1) == doctest::Approx(0.5 - std::tanh(0.5) / 2).epsilon(1e-15));
  CHECK(h2::surrogate(0.25, -2, 1) == doctest::Approx(0.2689414213699951).epsilon(1e-14));
  // MAD about the window's center (-0.5): c = 2 on the right edge 1.5.
  CHECK(quant::mad::derivative(0.3, -2, 1) == 1.0);
  CHECK(quant::mad::derivative(3.5, -2, 1) == doctest::Approx(0.5));
  CHECK(quant::mad::derivative_at(3.0, -2, 1, 0.0) == doctest::Approx(0.5));  // 1.5 / 3
  CHECK(quant::mad::surrogate_at(3.0, -2, 1, 0.0) ==
        doctest::Approx(1.5 * (1 + std::log(2.0))).epsilon(1e-14));
  CHECK(quant::mad::surrogate_at(-5.0, -2, 1, 0.0) ==
        doctest::Approx(-2.5 * (1 + std::log(2.0))).epsilon(1e-14));
  // EDE schedule: t from 0.1 to 10, k = max(1/t, 1).
  quant::ede e;
  CHECK(e.t() == doctest::Approx(0.1));
  CHECK(e.k() == doctest::Approx(10.0));
  CHECK(e.derivative(0.0) == doctest::Approx(1.0));
  e.progress = 0.5;
  CHECK(e.t() == doctest::Approx(1.0));
  CHECK(e.surrogate(1.0) == doctest::Approx(std::tanh(1.0)));
  e.progress = 1.0;
  CHECK(e.derivative(0.0) == doctest::Approx(10.0));
  e.progress = 1.5;
  CHECK_THROWS_AS(e.t(), amgrad::error);
}

TEST_CASE("estimators: Q̂' is the derivative of Q̂ where Q̂ is smooth") {
  for (double v : {-2.3, -1.8, -0.7, -0.2, 0.1, 0.45, 0.8, 1.3}) {
    CAPTURE(v);
    CHECK(fd<quant::htge<5.5>>(v, -2, 1) ==
          doctest::Approx(quant::htge<5.5>::derivative(v, -2, 1)).epsilon(1e-6));
    CHECK(fd<quant::ste>(v, -2, 1) == doctest::Approx(1.0));
    CHECK(fd<quant::pwl>(v, -2, 1) == doctest::Approx(1.0));
  }
  for (double v : {-9.0, -3.0, 2.0, 7.0}) {
    CAPTURE(v);
    CHECK(fd<quant::mad>(v, -2, 1) == doctest::Approx(quant::mad::derivative(v, -2, 1)).epsilon(1e-6));
  }
}

TEST_CASE("alpha: 1 for ste, pwl and mad; htge against t^2 / (t + sinh t)") {
  CHECK(quant::alpha<quant::ste>(-2, 1).value == doctest::Approx(1.0).epsilon(1e-14));
  CHECK(quant::alpha<quant::pwl>(0, 3).value == doctest::Approx(1.0).epsilon(1e-14));
  CHECK(quant::alpha<quant::mad>(-8, 7).value == doctest::Approx(1.0).epsilon(1e-14));
  auto check = [](auto est, double t) {
    using E = decltype(est);
    CAPTURE(t);
    for (auto [lo, hi] : {std::pair{-2.0, 1.0}, std::pair{0.0, 15.0}, std::pair{-128.0, 127.0}}) {
      const auto a = quant::alpha<E>(lo, hi);
      CHECK(std::abs(a.value - htge_alpha(t)) < 1e-10);
      CHECK(a.error < 1e-10);
      CHECK(std::abs(a.value - htge_alpha(t)) <= a.error + 1e-13);  // the stated estimate holds
    }
  };
  check(quant::htge<0.5>{}, 0.5);
  check(quant::htge<2.0>{}, 2.0);
  check(quant::htge<3.3>{}, 3.3);
  check(quant::htge<5.5>{}, 5.5);
  check(quant::htge<10.0>{}, 10.0);
  // Sharpest allowed t: 1/Q̂' reaches 1e17; the tolerance is relative there.
  const auto sharp = quant::alpha<quant::htge<40.0>>(-2, 1);
  CHECK(std::abs(sharp.value / htge_alpha(40.0) - 1) < 1e-9);
  // Hand value: t = 2: 4 / (2 + sinh 2) = 4 / 5.6268604 = 0.710875997
  CHECK(quant::alpha<quant::htge<2.0>>(-2, 1).value == doctest::Approx(0.71087599657).epsilon(1e-10));
  CHECK_THROWS_AS(quant::alpha<gappy>(-2, 1), amgrad::error);
  CHECK_THROWS_AS(quant::alpha<quant::ste>(1, 1), amgrad::error);
}

TEST_CASE("integrate: polynomials exactly, exp to the tolerance, reversed bounds negate") {
  CHECK(quant::integrate([](double x) { return x * x * x; }, 0, 2).value ==
        doctest::Approx(4.0).epsilon(1e-15));
  const auto r = quant::integrate([](double x) { return std::exp(x); }, 0, 1, 1e-12);
  CHECK(std::abs(r.value - (std::exp(1.0) - 1)) < 1e-12);
  CHECK(quant::integrate([](double x) { return x; }, 1, 0).value == doctest::Approx(-0.5));
}

TEST_CASE("remap: M = identity for ste and pwl; htge against its closed form") {
  for (double v = -2.5; v <= 1.5; v += 0.0625) {
    CAPTURE(v);
    CHECK(quant::remap_code<quant::ste>(v, -2, 1, 0, 1.0) == doctest::Approx(v).epsilon(1e-14));
    CHECK(quant::remap_code<quant::pwl>(v, -2, 1, 0, 1.0) == doctest::Approx(v).epsilon(1e-14));
  }
  CHECK(quant::remap_code<quant::ste>(9.3, -2, 1, 0, 1.0) == doctest::Approx(9.3));
  for (double t : {2.0, 5.5}) {
    const double a = htge_alpha(t);
    for (double v = -2.5; v <= 1.5; v += 0.03125) {
      CAPTURE(v);
      const double m = t == 2.0 ? quant::remap_code<quant::htge<2.0>>(v, -2, 1, 0, a)
                                : quant::remap_code<quant::htge<5.5>>(v, -2, 1, 0, a);
      CHECK(std::abs(m - htge_remap(t, v)) < 1e-10);
    }
  }
  using h = quant::htge<5.5>;
  const double a = htge_alpha(5.5);
  // Boundary points and (by symmetry) bin centers are fixed points; outside, the identity.
  for (double v : {-2.5, -1.5, -0.5, 0.5, 1.5, -2.0, -1.0, 0.0, 1.0})
    CHECK(quant::remap_code<h>(v, -2, 1, 0, a) == doctest::Approx(v).epsilon(1e-12));
  CHECK(quant::remap_code<h>(3.7, -2, 1, 0, a) == 3.7);
  // M'(v) = α / Q̂'(v) (Eq. 13).
  for (double v : {-2.2, -0.9, 0.3, 0.7}) {
    const double d = (quant::remap_code<h>(v + 1e-5, -2, 1, 0, a) -
                      quant::remap_code<h>(v - 1e-5, -2, 1, 0, a)) / 2e-5;
    CHECK(d == doctest::Approx(a / h::derivative(v, -2, 1)).epsilon(1e-6));
  }
  // MAD: identity inside, M(v) = edge + ∫ |s - z| / c ds beyond (α = 1); z = -0.5, c = 2:
  // ∫_{1.5}^{3} (s + 0.5) / 2 ds = (3.5² - 2²) / 4 = 2.0625.
  CHECK(quant::remap_code<quant::mad>(0.7, -2, 1, -0.5, 1.0) == doctest::Approx(0.7));
  const double m = quant::remap_code<quant::mad>(3.0, -2, 1, -0.5, 1.0);
  CHECK(m == doctest::Approx(1.5 + 2.0625).epsilon(1e-10));
}

TEST_CASE("remap over a per-channel tensor equals the scalar M in weight units") {
  using h = quant::htge<3.0>;
  const std::vector<float> w = {-0.30f, -0.11f, 0.0f, 0.07f, 0.2f, 0.4f, -0.9f, 0.05f};
  const auto p = quant::make_params<s8>({0.01f, 0.004f}, {0, 3});
  const auto m = quant::remap<h, s8>(w, p, 2);
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double s = p.scale_of(i / 4), z = p.zero_point_of(i / 4);
    const double v = double(w[i]) / s + z;
    CHECK(m[i] == doctest::Approx(s * (htge_remap(3.0, v) - z)).epsilon(1e-6));
  }
  const auto ident = quant::remap<quant::ste, s8>(w, p, 2);
  for (std::size_t i = 0; i < w.size(); ++i) CHECK(ident[i] == doctest::Approx(w[i]).epsilon(1e-6));
  CHECK_THROWS_AS((quant::remap<h, s8>(w, p, 3)), amgrad::error);
}

TEST_CASE("alignment metrics: hand values") {
  const std::vector<float> a = {0, 1, 2, 3}, b = {0, 1.5f, 2, 2};
  CHECK(quant::alignment_error(a, b, 2.0) == doctest::Approx(0.1875));
  CHECK(quant::alignment_error(a, a, 2.0) == 0.0);
  // Per channel: s = {0.5, 0.25} on s4-like range [-8, 7] (s8 here: 255 steps).
  const auto p = quant::make_params<s8>({0.5f, 0.25f}, {0, 0});
  const double want = ((0.5 / (0.5 * 255)) + (1.0 / (0.25 * 255))) / 4;
  CHECK(quant::alignment_error<s8>(a, b, p, 2) == doctest::Approx(want));
  const std::vector<code_t> ca = {1, 2, 3, 4}, cb = {1, 2, 0, 4};
  CHECK(quant::weight_agreement(ca, cb) == doctest::Approx(0.75));
  const auto p1 = quant::make_params<s8>(1.0f);
  CHECK(quant::weight_agreement<s8>(a, b, p1) == doctest::Approx(0.5));  // 1.5 -> 2 (even), 2 vs 3
  CHECK_THROWS_AS(quant::alignment_error(a, std::vector<float>{1}, 1.0), amgrad::error);
  CHECK_THROWS_AS(quant::alignment_error(a, b, 0.0), amgrad::error);
  CHECK_THROWS_AS(quant::weight_agreement(ca, std::vector<code_t>{}), amgrad::error);
}

TEST_CASE("quantizer_backward<E>: pwl is the masked STE; htge scales it by Q̂'; ste ignores the mask") {
  const std::vector<float> x = {-3.0f, -0.26f, 0.1f, 0.49f, 2.0f, 0.74f};
  const auto p = quant::make_params<s8>(0.01f, 0);
  const auto q = quant::quantize<s8>(x, p);
  const std::vector<float> dq = {1, 2, 3, 4, 5, 6};
  std::vector<float> base(6), pw(6), ht(6), st(6);
  quant::quantizer_backward(dq, q, 1, base);
  quant::quantizer_backward<quant::pwl, s8>(dq, q, 1, x, pw);
  quant::quantizer_backward<quant::htge<4.0>, s8>(dq, q, 1, x, ht);
  quant::quantizer_backward<quant::ste, s8>(dq, q, 1, x, st);
  for (std::size_t i = 0; i < x.size(); ++i) {
    CAPTURE(i);
    CHECK(pw[i] == base[i]);
    const double v = double(x[i] * (1.0f / 0.01f));
    CHECK(ht[i] == doctest::Approx(q.inside[i] ? dq[i] * quant::htge<4.0>::derivative(v, -128, 127) / 0.01 : 0.0).epsilon(1e-5));
    CHECK(st[i] == doctest::Approx(dq[i] / 0.01).epsilon(1e-6));
  }
  CHECK(base[0] == 0.0f);  // -300 clamps
  CHECK(st[0] != 0.0f);
}

TEST_CASE("ops: estimator policies in linear and conv2d backward") {
  const appmult<exact, s8, ste> am(exact{});
  const std::size_t batch = 3, in = 5, out = 4;
  const auto x = test::random_floats(batch * in, -2.0f, 2.0f);
  const auto w = test::random_floats(out * in, -0.5f, 0.3f);
  const auto xq = quant::from_range<s8>(-0.5f, 1.0f, quant::mapping::symmetric);
  // Weights deliberately clipped on some entries.
  const auto wq = quant::make_params<s8>(0.5f / 127 * 0.8f, 0);
  const auto dy = test::random_floats(batch * out);
  std::vector<float> y(batch * out), y2(batch * out);
  const auto s0 = ops::linear_forward(am, x, w, {}, {batch, in, out}, xq, wq, y);
  const auto g0 = ops::linear_backward(am, s0, dy);
  CHECK(s0.w_pos.empty());
  using H = quant::htge<3.0>;
  const auto s1 = ops::linear_forward<H, quant::ste>(am, x, w, {}, {batch, in, out}, xq, wq, y2);
  CHECK(y == y2);  // the forward does not change
  const auto g1 = ops::linear_backward<H, quant::ste>(am, s1, dy);
  int clipped_w = 0, clipped_x = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double v = double(w[i] * (1.0f / wq.scale[0]));
    const double want = s0.w_inside[i] ? g0.dw[i] * H::derivative(v, -128, 127) : 0.0;
    CHECK(g1.dw[i] == doctest::Approx(want).epsilon(1e-5));
    clipped_w += !s0.w_inside[i];
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (s0.x_inside[i]) CHECK(g1.dx[i] == doctest::Approx(g0.dx[i]).epsilon(1e-5));
    else { CHECK(g0.dx[i] == 0.0f); ++clipped_x; }
  }
  CHECK(clipped_w > 0);
  CHECK(clipped_x > 0);
  // Backward with estimators the forward did not store positions for.
  CHECK_THROWS_AS(ops::linear_backward<H>(am, s0, dy), amgrad::error);

  ops::conv2d_geometry g{2, 2, 5, 5, 3, 3, 3};
  g.pad_h = g.pad_w = 1;
  const auto cx = test::random_floats(g.input_size(), -0.6f, 1.2f);
  const auto cw = test::random_floats(g.weight_size(), -0.5f, 0.3f);
  std::vector<float> cy(g.output_size());
  const auto cs0 = ops::conv2d_forward(am, cx, cw, {}, g, xq, wq, cy);
  const auto cdy = test::random_floats(g.output_size());
  const auto cg0 = ops::conv2d_backward(am, cs0, cdy);
  const auto cs1 = ops::conv2d_forward<H, quant::pwl>(am, cx, cw, {}, g, xq, wq, cy);
  const auto cg1 = ops::conv2d_backward<H, quant::pwl>(am, cs1, cdy);
  for (std::size_t i = 0; i < cw.size(); ++i) {
    const double v = double(cw[i] * (1.0f / wq.scale[0]));
    const double want = cs0.w_inside[i] ? cg0.dw[i] * H::derivative(v, -128, 127) : 0.0;
    CHECK(cg1.dw[i] == doctest::Approx(want).epsilon(1e-5));
  }
  CHECK(cg1.dx == cg0.dx);
  CHECK_THROWS_AS(ops::conv2d_backward<H>(am, cs0, cdy), amgrad::error);
}
