// The LibTorch integration against torch itself and against amgrad's ops.
#include <doctest/doctest.h>

#include <boost/hana.hpp>

#include "amgrad/torch/torch.hpp"

// LibTorch (c10/util/Logging.h) redefines CHECK glog-style: a failure aborts the run unreported.
// The tests mean doctest's.
#undef CHECK
#define CHECK DOCTEST_CHECK

using namespace amgrad;
namespace hana = boost::hana;

namespace {

// Torch's own fake-quant of x (per tensor) and w (per output channel) with amgrad's params.
torch::Tensor fake_x(const torch::Tensor& x, const quant::params& p, int bits) {
  return torch::fake_quantize_per_tensor_affine(x, p.scale[0], p.zero_point[0], 0, (1 << bits) - 1);
}
torch::Tensor fake_w(const torch::Tensor& w, const quant::params& p, int bits) {
  auto scale = torch::tensor(p.scale, torch::kFloat32);
  auto zp = torch::tensor(std::vector<std::int32_t>(p.zero_point.begin(), p.zero_point.end()),
                          torch::kInt32);
  return torch::fake_quantize_per_channel_affine(w, scale, zp, 0, 0, (1 << bits) - 1);
}

// Params the module will use for this batch: range of x (first training batch), weight min/max.
std::pair<quant::params, quant::params> module_params(const nn::backend& be, const torch::Tensor& x,
                                                      const torch::Tensor& w) {
  const auto wc = w.detach().contiguous();
  return {be.activation_params(x.min().item<float>(), x.max().item<float>()),
          be.weight_params({wc.data_ptr<float>(), static_cast<std::size_t>(wc.numel())},
                           static_cast<std::size_t>(wc.size(0)))};
}

void check_close(const torch::Tensor& got, const torch::Tensor& want, double rtol, double atol) {
  REQUIRE(got.sizes() == want.sizes());
  const double err = (got - want).abs().max().item<double>();
  const double scale = want.abs().max().item<double>();
  CAPTURE(err);
  CAPTURE(scale);
  CHECK(err <= atol + rtol * scale);
}

const auto bit_widths = hana::tuple_t<u8, u7>;

}  // namespace

TEST_CASE("exact multiplier + STE: ApproxLinear is torch's fake-quant linear, forward and grads") {
  hana::for_each(bit_widths, [](auto t) {
    using Op = typename decltype(t)::type;
    torch::manual_seed(1);
    const auto be = nn::make_backend<exact, Op, ste>();
    nn::ApproxLinear layer(24, 10, be);
    auto x = (torch::rand({16, 24}) * 2 - 0.5).requires_grad_();
    const auto [xq, wq] = module_params(*be, x, layer->weight);
    auto y = layer(x);
    const auto dy = torch::randn_like(y);
    y.backward(dy);

    auto x2 = x.detach().clone().requires_grad_();
    auto w2 = layer->weight.detach().clone().requires_grad_();
    auto b2 = layer->bias.detach().clone().requires_grad_();
    auto y2 = torch::nn::functional::linear(fake_x(x2, xq, Op::bits), fake_w(w2, wq, Op::bits), b2);
    y2.backward(dy);

    check_close(y, y2, 1e-5, 1e-6);
    check_close(x.grad(), x2.grad(), 1e-4, 1e-6);
    check_close(layer->weight.grad(), w2.grad(), 1e-4, 1e-6);
    check_close(layer->bias.grad(), b2.grad(), 1e-5, 1e-6);
    // And the fake-quant result is within the quantization error of the float layer.
    check_close(y, torch::nn::functional::linear(x, layer->weight, layer->bias), 0.05, 0.0);
  });
}

TEST_CASE("exact multiplier + STE: ApproxConv2d is torch's fake-quant conv2d, forward and grads") {
  torch::manual_seed(2);
  const auto be = nn::make_backend<exact, u8, ste>();
  nn::ApproxConv2d conv(nn::ApproxConv2dOptions(3, 5, 3).stride(2).padding(1), be);
  auto x = torch::rand({2, 3, 9, 8}).requires_grad_();
  const auto [xq, wq] = module_params(*be, x, conv->weight);
  auto y = conv(x);
  const auto dy = torch::randn_like(y);
  y.backward(dy);

  auto x2 = x.detach().clone().requires_grad_();
  auto w2 = conv->weight.detach().clone().requires_grad_();
  auto b2 = conv->bias.detach().clone().requires_grad_();
  auto y2 = torch::nn::functional::conv2d(
      fake_x(x2, xq, 8), fake_w(w2, wq, 8),
      torch::nn::functional::Conv2dFuncOptions().bias(b2).stride(2).padding(1));
  y2.backward(dy);
  check_close(y, y2, 1e-5, 1e-6);
  check_close(x.grad(), x2.grad(), 1e-4, 1e-6);
  check_close(conv->weight.grad(), w2.grad(), 1e-4, 1e-6);
  check_close(conv->bias.grad(), b2.grad(), 1e-5, 1e-6);
}

TEST_CASE("autograd backward equals the ops' backward, for every scheme (truncated multiplier)") {
  const auto schemes = hana::tuple_t<ste, lut1d, lut2d>;
  hana::for_each(schemes, [](auto t) {
    using Scheme = typename decltype(t)::type;
    CAPTURE(Scheme::name);
    torch::manual_seed(3);
    const auto be = std::make_shared<const nn::backend_for<truncated, u8, Scheme>>(truncated{8});
    nn::ApproxConv2d conv(nn::ApproxConv2dOptions(2, 4, 3).padding(1).dilation(2), be);
    auto x = torch::rand({2, 2, 7, 7}).requires_grad_();
    const auto [xq, wq] = module_params(*be, x, conv->weight);
    auto y = conv(x);
    const auto dy = torch::randn_like(y);
    y.backward(dy);

    ops::conv2d_geometry g{2, 2, 7, 7, 4, 3, 3, 1, 1, 1, 1, 2, 2};
    const auto xc = x.detach().contiguous(), wc = conv->weight.detach().contiguous(),
               bc = conv->bias.detach().contiguous();
    std::vector<float> y_ops(g.output_size());
    auto span_of = [](const torch::Tensor& v) {
      return std::span<const float>(v.data_ptr<float>(), static_cast<std::size_t>(v.numel()));
    };
    const auto s = ops::conv2d_forward(be->engine(), span_of(xc), span_of(wc), span_of(bc), g, xq,
                                       wq, y_ops);
    const auto dyc = dy.contiguous();
    const auto grads = ops::conv2d_backward(be->engine(), s, span_of(dyc));
    CHECK(torch::equal(y, torch::from_blob(y_ops.data(), y.sizes(), torch::kFloat32)));
    CHECK(torch::equal(x.grad(), torch::from_blob(const_cast<float*>(grads.dx.data()),
                                                  x.sizes(), torch::kFloat32)));
    CHECK(torch::equal(conv->weight.grad(), torch::from_blob(const_cast<float*>(grads.dw.data()),
                                                             conv->weight.sizes(), torch::kFloat32)));
  });
}

TEST_CASE("eval mode uses the frozen activation range; an uncalibrated layer throws") {
  const auto be = nn::make_backend<exact, u8, ste>();
  nn::ApproxLinear layer(4, 3, be);
  layer->eval();
  CHECK_THROWS_AS(layer(torch::rand({2, 4})), amgrad::error);
  layer->train();
  {
    torch::NoGradGuard no_grad;
    layer(torch::rand({2, 4}));
  }
  const auto range = layer->range.clone();
  layer->eval();
  layer(torch::rand({2, 4}) * 10);
  CHECK(torch::equal(range, layer->range));
}

TEST_CASE("make_backend: any table or built-in model spec, a scheme named at run time") {
  const auto be = nn::make_backend(parse_model_spec("truncated:8"), u7::format, "lut2d", 4);
  CHECK(be->name() == "truncated:8/u7/lut2d");
  CHECK(be->lut() == make_product_table<u7>(truncated{8}));
  CHECK(nn::make_backend(make_product_table<s4>(exact{}), "ste")->bits() == 4);
  CHECK(nn::make_backend(make_product_table<u8>(exact{}), "lut1d", auto_hws, "mine")->name() ==
        "mine/u8/lut1d");
  CHECK_THROWS_WITH_AS(nn::make_backend(parse_model_spec("nope"), u8::format, "ste"),
                       doctest::Contains("unknown model 'nope'"), amgrad::error);
  CHECK_THROWS_WITH_AS(nn::make_backend(parse_model_spec("exact"), u8::format, "lowrank"),
                       doctest::Contains("unknown gradient scheme 'lowrank'"), amgrad::error);
  CHECK_THROWS_WITH_AS(nn::make_backend(parse_model_spec("etm:2"), s8::format, "ste"),
                       doctest::Contains("no signed definition"), amgrad::error);
}

namespace {
// The gradients of a small conv + linear net on `be`, for one fixed batch and start.
std::vector<torch::Tensor> net_gradients(const std::shared_ptr<const nn::backend>& be) {
  torch::manual_seed(5);
  nn::ApproxConv2d conv(nn::ApproxConv2dOptions(2, 4, 3).padding(1), be);
  nn::ApproxLinear fc(4 * 6 * 6, 5, be);
  auto x = torch::rand({3, 2, 6, 6}).requires_grad_();
  const auto y = fc(torch::relu(conv(x)).reshape({3, -1}));
  y.backward(torch::randn_like(y));
  return {x.grad(), conv->weight.grad(), fc->weight.grad()};
}
}  // namespace

#if AMGRAD_HAS_LAPACKE
TEST_CASE("make_backend: lut2d_lowrank at full rank is LUT-2D; its rank options reach the scheme") {
  const auto lut = make_product_table<u6>(truncated{4});
  const auto full = nn::make_backend(lut, "lut2d_lowrank", {.hws = 2, .rank = 64}, "t4");
  CHECK(full->name() == "t4/u6/lut2d_lowrank");
  const auto want = net_gradients(nn::make_backend(lut, "lut2d", 2));
  const auto got = net_gradients(full);
  for (std::size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    check_close(got[i], want[i], 1e-4, 1e-6);
  }
  // Rank 1 (fixed, or by a tolerance that rank 1 meets) is not LUT-2D, and is exactly the
  // compile-time rank-1 scheme.
  lut2d_lowrank<1> one;
  one.hws = 2;
  const auto rank1 = net_gradients(
      std::make_shared<const nn::backend_for<table_multiplier, u6, lut2d_lowrank<1>>>(
          table_multiplier(lut), one));
  for (const auto& opts : {nn::scheme_options{.hws = 2, .rank = 1},
                           nn::scheme_options{.hws = 2, .rank_tolerance = 0.5}}) {
    const auto g = net_gradients(nn::make_backend(lut, "lut2d_lowrank", opts));
    CHECK(torch::equal(g[1], rank1[1]));
    CHECK(torch::equal(g[2], rank1[2]));
    CHECK((g[1] - want[1]).abs().max().item<double>() > 1e-3 * want[1].abs().max().item<double>());
  }
  CHECK_THROWS_WITH_AS(nn::make_backend(lut, "lut2d_lowrank", {.rank = -1}),
                       doctest::Contains("must be >= 0"), amgrad::error);
}
#else
TEST_CASE("make_backend: lut2d_lowrank without LAPACKE says what is missing") {
  CHECK_THROWS_WITH_AS(nn::make_backend(make_product_table<u6>(exact{}), "lut2d_lowrank", 2),
                       doctest::Contains("needs LAPACKE"), amgrad::error);
}
#endif

// A CUDA tensor cannot be made on this CPU-only LibTorch; a meta tensor has the same property
// that matters (its memory is not the host's), so it stands in for one. Before the device checks
// the modules read such tensors through host pointers and accessors.
TEST_CASE("modules refuse tensors that are not float32 on the CPU, before reading them") {
  const auto be = nn::make_backend<exact, u8, ste>();
  const auto meta = torch::TensorOptions().device(torch::kMeta);
  nn::ApproxLinear fc(4, 3, be);
  CHECK_THROWS_WITH_AS(fc(torch::empty({2, 4}, meta)), doctest::Contains("the input is on meta"),
                       amgrad::error);
  CHECK_THROWS_WITH_AS(fc(torch::rand({2, 4}, torch::kFloat64)),
                       doctest::Contains("the input is Double"), amgrad::error);
  CHECK_THROWS_WITH_AS(fc(torch::rand({2, 5})), doctest::Contains("does not fit weight"),
                       amgrad::error);
  nn::ApproxConv2d conv(nn::ApproxConv2dOptions(1, 2, 3), be);
  conv->weight = torch::empty({2, 1, 3, 3}, meta);  // (Module::to(kMeta) is refused by LibTorch)
  CHECK_THROWS_WITH_AS(conv(torch::rand({1, 1, 6, 6})), doctest::Contains("the weight is on meta"),
                       amgrad::error);
  nn::ApproxConv2d conv2(nn::ApproxConv2dOptions(1, 2, 3), be);
  CHECK_THROWS_WITH_AS(conv2(torch::rand({1, 2, 6, 6})), doctest::Contains("does not fit weight"),
                       amgrad::error);
  CHECK_NOTHROW(conv2(torch::rand({1, 1, 6, 6})));
}

TEST_CASE("layers without bias run forward and backward (an undefined bias is no input)") {
  const auto be = nn::make_backend<exact, u8, ste>();
  nn::ApproxConv2d conv(nn::ApproxConv2dOptions(1, 2, 3).bias(false), be);
  nn::ApproxLinear fc(8, 3, be, false);
  const auto x = torch::rand({2, 1, 4, 4}, torch::requires_grad());
  const auto y = fc(conv(x).reshape({2, 8}));
  y.sum().backward();
  CHECK(x.grad().defined());
  CHECK(conv->weight.grad().defined());
  CHECK(fc->weight.grad().defined());
}

// ---- quantizer estimators through the modules ------------------------------------------------

namespace {

// Q̂'(v) in float64 from the papers' formulas (written here, not the library's), in code units.
double reference_derivative(const quant::estimator_choice& e, double v, double lo, double hi,
                            double z) {
  const bool window = v >= lo - 0.5 && v <= hi + 0.5;
  if (std::holds_alternative<quant::ste>(e)) return 1.0;
  if (std::holds_alternative<quant::pwl>(e)) return window ? 1.0 : 0.0;
  if (const auto* h = std::get_if<quant::htge_runtime>(&e)) {
    const double t = h->sharpness, c = std::cosh(t * (v - std::floor(v) - 0.5));
    return window ? 0.5 * t / (c * c) : 0.0;
  }
  if (window) return 1.0;  // mad
  const double edge = v > hi ? hi + 0.5 : lo - 0.5;
  return std::abs(edge - z) / std::abs(v - z);
}

// Q̂'(v) of every element of t (channel-major, params per tensor or per channel), v = t/s + Z.
torch::Tensor reference_derivatives(const quant::estimator_choice& e, const torch::Tensor& t,
                                    const quant::params& p, double lo, double hi) {
  const auto flat = t.detach().to(torch::kFloat64).contiguous().reshape({t.size(0), -1});
  auto out = torch::empty_like(flat);
  auto f = flat.accessor<double, 2>();
  auto o = out.accessor<double, 2>();
  for (std::int64_t c = 0; c < flat.size(0); ++c) {
    const double s = p.scale_of(static_cast<std::size_t>(c)),
                 z = p.zero_point_of(static_cast<std::size_t>(c));
    for (std::int64_t i = 0; i < flat.size(1); ++i)
      o[c][i] = reference_derivative(e, f[c][i] / s + z, lo, hi, z);
  }
  return out.reshape(t.sizes());
}

struct estimator_run {
  torch::Tensor y, dx, dw, w;
  quant::params xq, wq;
};

// One calibration batch (sets the activation range), then x2 (3x wider, so the EMA range clips
// some of it) forward and backward with dy. make() builds the module under a fixed seed.
template <class Make>
estimator_run run_module(Make&& make, const nn::backend& be, const torch::Tensor& x1,
                         const torch::Tensor& x2, const torch::Tensor& dy) {
  auto m = make();
  {
    torch::NoGradGuard no_grad;
    m(x1);
  }
  torch::Tensor x = x2.clone().requires_grad_();
  torch::Tensor y = m(x);
  y.backward(dy);
  const torch::Tensor range = m->range, weight = m->weight;
  const auto [xq, wq] = module_params(be, x2, weight);
  (void)xq;
  return {y.detach(), x.grad(), weight.grad(), weight.detach(),
          be.activation_params(range[0].item<float>(), range[1].item<float>()), wq};
}

const quant::estimator_choice all_estimators[] = {quant::ste{}, quant::pwl{},
                                                  quant::htge_runtime(2.5), quant::mad{}};

// The module's backward with each estimator (on both quantizers) is the STE run's gradient (the
// AppMult gradient path, Q̂' = 1) times the reference Q̂' of each value; the forward does not move.
template <class MakeWith>
void check_estimators(MakeWith&& make_with, const torch::Tensor& x1, const torch::Tensor& x2,
                      const nn::backend& be, double lo, double hi) {
  torch::Tensor dy;
  {
    torch::NoGradGuard no_grad;
    auto m = make_with(quant::estimator_pair{});
    dy = torch::randn_like(m(x2));
  }
  const auto base = run_module([&] { return make_with({quant::ste{}, quant::ste{}}); }, be, x1,
                               x2, dy);
  std::int64_t clipped_total = 0;
  for (const auto& e : all_estimators) {
    CAPTURE(quant::to_string(e));
    const auto r = run_module([&] { return make_with({e, e}); }, be, x1, x2, dy);
    CHECK(torch::equal(r.y, base.y));
    const auto dw_ref = base.dw.to(torch::kFloat64) * reference_derivatives(e, r.w, r.wq, lo, hi);
    const auto xd = reference_derivatives(e, x2, r.xq, 0.0, 255.0);
    const auto dx_ref = base.dx.to(torch::kFloat64) * xd;
    // rtol: the module's v = x (1/s) + Z is float (ulp 1.5e-5 at 255), and htge's Q̂' moves by
    // a relative 2t per unit of v.
    check_close(r.dw.to(torch::kFloat64), dw_ref, 2e-4, 1e-9);
    check_close(r.dx.to(torch::kFloat64), dx_ref, 2e-4, 1e-9);
    if (std::holds_alternative<quant::pwl>(e)) {
      // ste and pwl differ exactly where the activation quantizer clipped (outside the window);
      // elsewhere by float rounding at most (pwl multiplies by 1/s, the others divide by s).
      const auto clipped = xd == 0;
      const auto differs = (r.dx - base.dx).abs() > 1e-6 * base.dx.abs();
      clipped_total = clipped.sum().template item<std::int64_t>();
      CHECK(torch::equal(differs, clipped & (base.dx != 0)));
      check_close(r.dw, base.dw, 1e-6, 0.0);  // weights: per-channel min/max, nothing clipped
    }
  }
  CHECK(clipped_total > 0);  // the second batch did clip
}

}  // namespace

TEST_CASE("ApproxLinear / ApproxConv2d: each quantizer estimator's backward = Q̂' x the AppMult path") {
  torch::manual_seed(11);
  const auto be = std::make_shared<const nn::backend_for<truncated, u8, lut2d>>(truncated{8});
  {
    const auto x1 = torch::rand({16, 24}), x2 = torch::rand({16, 24}) * 3 - 1;
    check_estimators(
        [&](quant::estimator_pair est) {
          torch::manual_seed(5);
          return nn::ApproxLinear(24, 10, be, true, est);
        },
        x1, x2, *be, 0.0, 255.0);
  }
  {
    const auto x1 = torch::rand({2, 2, 7, 7}), x2 = torch::rand({2, 2, 7, 7}) * 3 - 1;
    check_estimators(
        [&](quant::estimator_pair est) {
          torch::manual_seed(6);
          return nn::ApproxConv2d(nn::ApproxConv2dOptions(2, 4, 3)
                                      .padding(1)
                                      .weight_estimator(est.weight)
                                      .activation_estimator(est.activation),
                                  be);
        },
        x1, x2, *be, 0.0, 255.0);
  }
}

TEST_CASE("the modules' default estimator is the clipping STE: torch's fake-quant, clipped batch") {
  torch::manual_seed(12);
  const auto be = nn::make_backend<exact, u8, ste>();
  const auto x1 = torch::rand({8, 12}), x2 = torch::rand({8, 12}) * 3 - 1;
  auto make = [&] {
    torch::manual_seed(7);
    return nn::ApproxLinear(12, 5, be);
  };
  const auto dy = torch::randn({8, 5});
  const auto r = run_module(make, *be, x1, x2, dy);
  // The same with pwl/pwl named explicitly: bit for bit.
  const auto named = run_module(
      [&] {
        torch::manual_seed(7);
        return nn::ApproxLinear(12, 5, be, true, quant::estimator_pair{quant::pwl{}, quant::pwl{}});
      },
      *be, x1, x2, dy);
  CHECK(torch::equal(r.dx, named.dx));
  CHECK(torch::equal(r.dw, named.dw));
  // torch's fake-quant (its gradient is the clipping STE) on the same params.
  auto m = make();
  auto x = x2.clone().requires_grad_();
  auto w = m->weight.detach().clone().requires_grad_();
  torch::nn::functional::linear(fake_x(x, r.xq, 8), fake_w(w, r.wq, 8), m->bias.detach())
      .backward(dy);
  CHECK((x.grad() == 0).sum().item<std::int64_t>() > 0);  // some values were clipped
  check_close(r.dx, x.grad(), 1e-4, 1e-6);
  check_close(r.dw, w.grad(), 1e-4, 1e-6);
}

TEST_CASE("htge_runtime: a sharpness outside (0, 40] throws amgrad::error") {
  for (const double t : {0.0, -1.0, 40.5, std::nan("")})
    CHECK_THROWS_WITH_AS(quant::htge_runtime{t}, doctest::Contains("sharpness t must be in (0, 40]"),
                         amgrad::error);
  CHECK(quant::to_string(quant::htge_runtime(5.5)) == "htge(t=5.5)");
  CHECK(quant::to_string(quant::estimator_pair{}.weight) == "pwl");
  // The run-time htge is the compile-time one.
  for (double v = -2.4; v < 1.5; v += 0.37)
    CHECK(quant::htge_runtime(2.0).derivative(v, -2, 1) == quant::htge<2.0>::derivative(v, -2, 1));
}
