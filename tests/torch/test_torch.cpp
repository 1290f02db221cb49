// The LibTorch integration against torch itself and against amgrad's ops.
#include <doctest/doctest.h>

#include "amgrad_torch.hpp"

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
  const auto schemes = hana::tuple_t<ste, lut1d, lut2d<>>;
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

TEST_CASE("registry: configurations are picked by name, unknown ones throw") {
  const nn::registry reg(hana::tuple_t<u8, u7>, hana::tuple_t<ste, lut1d, lut2d<>>,
                         hana::make_tuple(nn::entry<exact>("exact", [] { return exact{}; }),
                                          nn::entry<truncated>("trunc8", [] { return truncated{8}; })));
  CHECK(reg.make("trunc8", 7, "lut2d")->name() == "truncated/u7/lut2d");
  CHECK(reg.make("exact", 8, "ste")->bits() == 8);
  CHECK_THROWS_AS(reg.make("trunc8", 6, "ste"), amgrad::error);
  CHECK_THROWS_AS(reg.make("nope", 8, "ste"), amgrad::error);
  CHECK_THROWS_AS(reg.make("exact", 8, "lowrank"), amgrad::error);
}
