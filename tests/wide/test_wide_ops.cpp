// Wide engine and layers (wide/engine.hpp, wide/ops.hpp): the backward GEMMs of every scheme
// against float64 sums of the scheme's own definition (STE: operand values; LUT-1D: the scanned
// factors; 2-D: the coarse table's interpolation), the layers' forward bit-exact against scalar
// loops over wide::multiply (direct convolution, no im2col), their backward against float64
// loops of the same scheme with the cross terms and the clipping STE, the int64 accumulator,
// and bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/wide/engine.hpp"
#include "amgrad/wide/ops.hpp"

using namespace amgrad;
namespace w = amgrad::wide;

namespace {

std::mt19937_64& rng() {
  static std::mt19937_64 engine{0x13};
  return engine;
}

template <class Operand>
std::vector<w::code_t> random_codes(std::size_t n) {
  std::uniform_int_distribution<int> d(0, Operand::size - 1);
  std::vector<w::code_t> out(n);
  for (auto& c : out) c = static_cast<w::code_t>(d(rng()));
  return out;
}

std::vector<float> random_floats(std::size_t n, float lo = -1, float hi = 1) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> out(n);
  for (auto& v : out) v = d(rng());
  return out;
}

// The scheme's estimate, from the definitions (not from the engine).
template <class Operand, class Model>
struct reference_scheme {
  w::scheme s;
  w::lut1d_factors f;
  w::coarse_gradients c;
  reference_scheme(const Model& model, w::scheme s_) : s(s_) {
    if (s == w::scheme::lut1d) f = w::lut1d_scan_bits(model, Operand::bits, Operand::is_signed);
    if (s == w::scheme::lut2d_coarse) c = w::lut2d_coarse_bits(model, Operand::bits, Operand::is_signed);
  }
  double da(int a, int b) const {
    return s == w::scheme::ste ? static_cast<double>(Operand::value(b)) : s == w::scheme::lut1d ? f.da_of_b[static_cast<std::size_t>(b)] : c.da_at(a, b);
  }
  double db(int a, int b) const {
    return s == w::scheme::ste ? static_cast<double>(Operand::value(a)) : s == w::scheme::lut1d ? f.db_of_a[static_cast<std::size_t>(a)] : c.db_at(a, b);
  }
};

// |got - want| / (1 + sum of |terms|), the worst over a vector.
double worst_error(const std::vector<float>& got, const std::vector<double>& want,
                   const std::vector<double>& scale) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(got[i] - want[i]) / (1 + scale[i]));
  return worst;
}

constexpr w::scheme all_schemes[] = {w::scheme::ste, w::scheme::lut1d, w::scheme::lut2d_coarse};

template <class Operand, class Model>
void check_engine_backward(const Model& model, std::vector<w::scheme> schemes = {std::begin(all_schemes), std::end(all_schemes)}) {
  for (auto sc : schemes) {
    CAPTURE(w::to_string(sc));
    const w::engine<Operand, Model> e(model, {sc, rate_rule::signed_range, auto_hws, 256, 2});
    const w::engine<Operand, Model> e1(model, {sc, rate_rule::signed_range, auto_hws, 256, 1});
    const reference_scheme<Operand, Model> ref(model, sc);
    for (int trial = 0; trial < 3; ++trial) {
      std::uniform_int_distribution<std::size_t> dim(1, 29);
      const std::size_t m = dim(rng()), k = dim(rng()), n = dim(rng());
      CAPTURE(m);
      CAPTURE(k);
      CAPTURE(n);
      const auto a = random_codes<Operand>(m * k), b = random_codes<Operand>(k * n);
      const auto g = random_floats(m * n);
      std::vector<float> da(m * k, NAN), db(k * n, NAN), da1(m * k), db1(k * n);
      e.backward_da(a.data(), b.data(), g.data(), da.data(), m, k, n);
      e.backward_db(a.data(), b.data(), g.data(), db.data(), m, k, n);
      std::vector<double> wa(m * k, 0), sa(m * k, 0), wb(k * n, 0), sb(k * n, 0);
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t p = 0; p < k; ++p)
          for (std::size_t j = 0; j < n; ++j) {
            const int x = a[i * k + p], y = b[p * n + j];
            const double gv = g[i * n + j];
            wa[i * k + p] += gv * ref.da(x, y);
            sa[i * k + p] += std::abs(gv * ref.da(x, y));
            wb[p * n + j] += gv * ref.db(x, y);
            sb[p * n + j] += std::abs(gv * ref.db(x, y));
          }
      CHECK(worst_error(da, wa, sa) < 1e-5);
      CHECK(worst_error(db, wb, sb) < 1e-5);
      // The same with one thread: each output is written by one thread, so bit for bit.
      e1.backward_da(a.data(), b.data(), g.data(), da1.data(), m, k, n);
      e1.backward_db(a.data(), b.data(), g.data(), db1.data(), m, k, n);
      CHECK(da1 == da);
      CHECK(db1 == db);
    }
  }
}

// Per-tensor activation params and per-channel weight params from random ranges.
template <class Operand>
std::pair<quant::params, quant::params> random_params(std::span<const float> x,
                                                      std::span<const float> wt, std::size_t out) {
  const auto r = quant::tensor_range(x);
  // a range a little narrower than the data, so that some values clamp (the STE mask matters)
  return {quant::from_range<Operand>(0.9f * r.lo, 0.9f * r.hi), quant::from_channels<Operand>(wt, out)};
}

template <class Operand>
int code_of(float x, const quant::params& p, std::size_t c, bool& inside) {
  return Operand::code(quant::quantize_value<Operand>(x, 1.0f / p.scale_of(c), p.zero_point_of(c), inside));
}

template <class Operand, class Model>
void check_linear(const Model& model, w::scheme sc) {
  CAPTURE(w::to_string(sc));
  const w::engine<Operand, Model> e(model, {sc, rate_rule::signed_range, auto_hws, 256, 2});
  const reference_scheme<Operand, Model> ref(model, sc);
  const ops::linear_shape shape{5, 23, 7};
  const auto x = random_floats(shape.batch * shape.in, -0.5f, 2.0f);
  const auto wt = random_floats(shape.out * shape.in);
  const auto bias = random_floats(shape.out);
  const auto [xq, wq] = random_params<Operand>(x, wt, shape.out);
  std::vector<float> y(shape.batch * shape.out);
  const auto s = w::linear_forward(e, x, wt, bias, shape, xq, wq, y);
  const auto dy = random_floats(y.size());
  const auto grads = w::linear_backward(e, s, dy);

  long bad = 0;
  std::vector<double> dx(x.size(), 0), dw(wt.size(), 0), sx(x.size(), 0), sw(wt.size(), 0);
  const int zx = xq.zero_point[0];
  for (std::size_t i = 0; i < shape.batch; ++i)
    for (std::size_t o = 0; o < shape.out; ++o) {
      std::int64_t sum = 0;
      const int zw = wq.zero_point_of(o);
      const double gv = static_cast<double>(dy[i * shape.out + o] * (xq.scale[0] * wq.scale_of(o)));
      for (std::size_t p = 0; p < shape.in; ++p) {
        bool in_x = false, in_w = false;
        const int a = code_of<Operand>(x[i * shape.in + p], xq, 0, in_x);
        const int b = code_of<Operand>(wt[o * shape.in + p], wq, o, in_w);
        const int xv = Operand::value(a), wv = Operand::value(b);
        sum += w::multiply<Operand>(model, xv, wv) - std::int64_t{zx} * wv - std::int64_t{zw} * xv +
               std::int64_t{zx} * zw;
        const double ga = gv * (ref.da(a, b) - zw), gb = gv * (ref.db(a, b) - zx);
        if (in_x) dx[i * shape.in + p] += ga / xq.scale[0];
        sx[i * shape.in + p] += std::abs(ga / xq.scale[0]);
        if (in_w) dw[o * shape.in + p] += gb / wq.scale_of(o);
        sw[o * shape.in + p] += std::abs(gb / wq.scale_of(o));
      }
      const auto want = static_cast<float>(static_cast<double>(xq.scale[0]) * wq.scale_of(o) *
                                               static_cast<double>(sum) + bias[o]);
      bad += y[i * shape.out + o] != want;
    }
  CHECK(bad == 0);
  CHECK(worst_error(grads.dx, dx, sx) < 1e-5);
  CHECK(worst_error(grads.dw, dw, sw) < 1e-5);
  for (std::size_t o = 0; o < shape.out; ++o) {
    double want = 0;
    for (std::size_t i = 0; i < shape.batch; ++i) want += dy[i * shape.out + o];
    CHECK(grads.dbias[o] == doctest::Approx(want).epsilon(1e-5));
  }
}

template <class Operand, class Model>
void check_conv(const Model& model, w::scheme sc) {
  CAPTURE(w::to_string(sc));
  const w::engine<Operand, Model> e(model, {sc, rate_rule::signed_range, auto_hws, 256, 2});
  const reference_scheme<Operand, Model> ref(model, sc);
  ops::conv2d_geometry g;
  g.batch = 2, g.in_channels = 3, g.height = 7, g.width = 6, g.out_channels = 4;
  g.kernel_h = 3, g.kernel_w = 2, g.stride_h = 2, g.pad_h = 1, g.pad_w = 2, g.dilation_w = 2;
  const auto x = random_floats(g.input_size(), 0.0f, 3.0f);  // ReLU-like: Z_x at the low end
  const auto wt = random_floats(g.weight_size());
  const auto bias = random_floats(g.out_channels);
  const auto [xq, wq] = random_params<Operand>(x, wt, g.out_channels);
  std::vector<float> y(g.output_size());
  const auto s = w::conv2d_forward(e, x, wt, bias, g, xq, wq, y);
  const auto dy = random_floats(y.size());
  const auto grads = w::conv2d_backward(e, s, dy);

  const int zx = xq.zero_point[0];
  const std::size_t oh = g.out_h(), ow = g.out_w();
  long bad = 0;
  std::vector<double> dx(x.size(), 0), dw(wt.size(), 0), sx(x.size(), 0), sw(wt.size(), 0);
  for (std::size_t n = 0; n < g.batch; ++n)
    for (std::size_t o = 0; o < g.out_channels; ++o)
      for (std::size_t oy = 0; oy < oh; ++oy)
        for (std::size_t ox = 0; ox < ow; ++ox) {
          const std::size_t yi = ((n * g.out_channels + o) * oh + oy) * ow + ox;
          const int zw = wq.zero_point_of(o);
          const double gv = static_cast<double>(dy[yi] * (xq.scale[0] * wq.scale_of(o)));
          std::int64_t sum = 0;
          for (std::size_t c = 0; c < g.in_channels; ++c)
            for (std::size_t ky = 0; ky < g.kernel_h; ++ky)
              for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
                const long iy = static_cast<long>(oy * g.stride_h + ky * g.dilation_h) - static_cast<long>(g.pad_h);
                const long ix = static_cast<long>(ox * g.stride_w + kx * g.dilation_w) - static_cast<long>(g.pad_w);
                const bool pixel = iy >= 0 && ix >= 0 && iy < static_cast<long>(g.height) && ix < static_cast<long>(g.width);
                const std::size_t xi = pixel ? ((n * g.in_channels + c) * g.height + static_cast<std::size_t>(iy)) * g.width + static_cast<std::size_t>(ix) : 0;
                const std::size_t wi = ((o * g.in_channels + c) * g.kernel_h + ky) * g.kernel_w + kx;
                bool in_x = false, in_w = false;
                const int a = pixel ? code_of<Operand>(x[xi], xq, 0, in_x) : Operand::code(zx);
                const int b = code_of<Operand>(wt[wi], wq, o, in_w);
                const int xv = Operand::value(a), wv = Operand::value(b);
                sum += w::multiply<Operand>(model, xv, wv) - std::int64_t{zx} * wv -
                       std::int64_t{zw} * xv + std::int64_t{zx} * zw;
                const double ga = gv * (ref.da(a, b) - zw) / xq.scale[0];
                const double gb = gv * (ref.db(a, b) - zx) / wq.scale_of(o);
                if (pixel) {
                  if (in_x) dx[xi] += ga;
                  sx[xi] += std::abs(ga);
                }
                if (in_w) dw[wi] += gb;
                sw[wi] += std::abs(gb);
              }
          const auto want = static_cast<float>(static_cast<double>(xq.scale[0]) * wq.scale_of(o) *
                                                   static_cast<double>(sum) + bias[o]);
          bad += y[yi] != want;
        }
  CHECK(bad == 0);
  CHECK(worst_error(grads.dx, dx, sx) < 1e-5);
  CHECK(worst_error(grads.dw, dw, sw) < 1e-5);
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const amgrad::error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("wide engine: backward GEMMs of every scheme against float64 sums of its definition") {
  check_engine_backward<w::u12>(drum{3});
  check_engine_backward<w::u12>(truncated{14});
  check_engine_backward<w::s12>(mitchell{});
  // 16 bits: no LUT-1D (its scans evaluate 2 * 2^32 products)
  check_engine_backward<w::u16>(perforated{2, 3}, {w::scheme::ste, w::scheme::lut2d_coarse});
}

TEST_CASE("wide linear: forward bit-exact against a scalar loop, backward against float64") {
  for (auto sc : all_schemes) {
    check_linear<w::u12>(truncated{14}, sc);
    check_linear<w::u12>(drum{3}, sc);
    check_linear<w::s12>(mitchell{}, sc);
  }
  check_linear<w::u16>(exact{}, w::scheme::ste);
}

TEST_CASE("wide conv2d: forward bit-exact against a direct convolution, backward against float64") {
  for (auto sc : all_schemes) {
    check_conv<w::u12>(truncated{14}, sc);
    check_conv<w::u12>(drum{3}, sc);
  }
  check_conv<w::s12>(mitchell{}, w::scheme::lut2d_coarse);
}

TEST_CASE("wide linear: the 12-bit accumulator of a K = 400 dot product does not wrap") {
  // 400 * 4095^2 = 6.7e9 > 2^31: every code at its maximum, zero points 0.
  const w::engine<w::u12, exact> e;
  const ops::linear_shape shape{1, 400, 1};
  const std::vector<float> x(400, 4095.0f), wt(400, 4095.0f);
  const auto p = quant::make_params<w::u12>(1.0f, 0);
  std::vector<float> y(1);
  w::linear_forward(e, x, wt, {}, shape, p, p, y);
  CHECK(y[0] == static_cast<float>(400.0 * 4095 * 4095));
  // and the quantizer keeps 12 bits: 4096 clamps to 4095, outside the STE mask
  const std::vector<float> q{4094.0f, 4095.0f, 4096.0f, -1.0f};
  const auto qq = w::quantize<w::u12>(q, p);
  CHECK(qq.codes == std::vector<w::code_t>{4094, 4095, 4095, 0});
  CHECK(qq.inside == std::vector<std::uint8_t>{1, 1, 0, 0});
}

TEST_CASE("wide ops: bad input throws amgrad::error naming what is wrong") {
  const w::engine<w::u12, drum> e(drum{3});
  const auto p = quant::make_params<w::u12>(0.01f, 100);
  const std::vector<float> x(6, 0.5f), wt(6, 0.5f);
  std::vector<float> y(4);
  CHECK(error_of([&] { w::linear_forward(e, x, wt, {}, {2, 3, 2}, p, p, std::span<float>(y).first(3)); })
            .find("y has 3 values, expected 4") != std::string::npos);
  CHECK(error_of([&] { w::linear_forward(e, std::span<const float>(x).first(5), wt, {}, {2, 3, 2}, p, p, y); })
            .find("x has 5 values, expected 6") != std::string::npos);
  CHECK(error_of([&] { w::linear_forward(e, x, wt, std::vector<float>(3), {2, 3, 2}, p, p, y); })
            .find("bias has 3 entries for 2 outputs") != std::string::npos);
  // a zero point that fits 8 bits is fine; one outside the 12-bit range is not
  const quant::params bad_z{{0.1f}, {5000}};
  CHECK(error_of([&] { w::linear_forward(e, x, wt, {}, {2, 3, 2}, bad_z, p, y); })
            .find("zero point[0] = 5000 is outside the u12 value range") != std::string::npos);
  const auto s = w::linear_forward(e, x, wt, {}, {2, 3, 2}, p, p, y);
  CHECK(error_of([&] { w::linear_backward(e, s, std::vector<float>(5)); })
            .find("dy has 5 values, expected 4") != std::string::npos);
  std::vector<w::code_t> a(4, 1), b(4, 1);
  std::vector<float> g(4), out(4);
  a[2] = 4096;
  CHECK(error_of([&] { e.backward_da(a.data(), b.data(), g.data(), out.data(), 2, 2, 2); })
            .find("amgrad::wide::engine::backward_da: A(1, 0) = 4096 is not a 12-bit code") != std::string::npos);
  ops::conv2d_geometry geo;
  geo.batch = 1, geo.in_channels = 1, geo.height = 2, geo.width = 2, geo.out_channels = 1;
  geo.kernel_h = geo.kernel_w = 3;
  std::vector<float> cy(1);
  CHECK(error_of([&] { w::conv2d_forward(e, std::vector<float>(4), std::vector<float>(9), {}, geo, p, p, cy); })
            .find("does not fit the padded 2x2 input") != std::string::npos);
  CHECK(error_of([] { w::parse_scheme("lut3d"); }).find("unknown scheme 'lut3d'") != std::string::npos);
  CHECK(w::parse_scheme("lut2d") == w::scheme::lut2d_coarse);
}
