// The LibTorch integration against torch itself and against amgrad's ops.
#include <doctest/doctest.h>

#include <boost/hana.hpp>

#include "amgrad/torch/torch.hpp"

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
