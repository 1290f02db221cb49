#pragma once
// amgrad for LibTorch: ApproxLinear and ApproxConv2d modules whose every multiplication runs
// through an approximate multiplier (AppMult), with the gradient scheme chosen at compile time.
// Link amgrad::torch; include amgrad/torch/torch.hpp for everything.
//
//   auto am = amgrad::nn::make_backend<amgrad::mitchell, amgrad::u8, amgrad::lut2d>();
//   amgrad::nn::ApproxConv2d conv(amgrad::nn::ApproxConv2dOptions(1, 6, 5).padding(2), am);
//   amgrad::nn::ApproxLinear fc(400, 120, am);
//   auto y = fc(x);  y.sum().backward();   // dAM/da, dAM/db from the scheme
//
// Quantization (DATE'25 Eq. 7-8): activations per tensor, unsigned with a zero point, whose range
// is an EMA (momentum 0.1) of the batch min/max during training and frozen in eval mode;
// weights per output channel from their current min/max. The quantizers' gradient is a quantizer
// estimator chosen per module for the weights and the activations (quant::estimator_pair:
// ApproxLinear's constructor, ApproxConv2dOptions::weight_estimator / activation_estimator, or
// set_estimators), default the clipping STE (quant::pwl) for both.
// A module without a backend is an ordinary float layer (for pretraining).
// On CUDA tensors (a CUDA LibTorch, and a build with the device path: torch/device.hpp) the
// AM-GEMMs run on the input's device, on the module's `stream` (0: the default stream).
// Nothing here is global: a backend is immutable after construction and may be shared.
#include <torch/torch.h>

#include <utility>

#include "amgrad/torch/functions.hpp"

// ---- modules ---------------------------------------------------------------------------------

namespace amgrad::detail {

// Activation range: EMA of the batch min/max in training (the first batch sets it), frozen in
// eval. Kept as a buffer so it is saved with the module; updated through a host copy when the
// module is on a CUDA device.
inline std::pair<float, float> observe(torch::nn::Module& m, torch::Tensor& range,
                                       const torch::Tensor& x, double momentum) {
  torch::NoGradGuard no_grad;
  auto host = range.to(torch::kCPU);  // range itself when on the host
  auto r = host.accessor<float, 1>();
  if (m.is_training()) {
    const auto lo = x.min().item<float>(), hi = x.max().item<float>();
    if (r[2] == 0.0f) {
      r[0] = lo;
      r[1] = hi;
      r[2] = 1.0f;
    } else {
      r[0] = static_cast<float>((1 - momentum) * r[0] + momentum * lo);
      r[1] = static_cast<float>((1 - momentum) * r[1] + momentum * hi);
    }
    if (!range.device().is_cpu()) range.copy_(host);
  }
  amgrad::require(r[2] != 0.0f, "amgrad::nn", "an approximate layer ran in eval mode "
                          "before any training-mode batch set its activation range (calibrate)");
  return {r[0], r[1]};
}

// What a module's forward reads, checked first (device, dtype), so that nothing is read from
// memory that is not the host's: float32, all on the input's device, the CPU or (where the build
// has the device path) a CUDA device.
inline void require_module_tensors(const char* where, const torch::Tensor& x,
                                   const torch::Tensor& weight, const torch::Tensor& bias,
                                   const torch::Tensor& range) {
  require_float(x, where, "the input");
  require_float_on(weight, x.device(), where, "the weight");
  if (bias.defined()) require_float_on(bias, x.device(), where, "the bias");
  require_float_on(range, x.device(), where, "the activation_range buffer");
}

}  // namespace amgrad::detail

namespace amgrad::nn {

inline constexpr double activation_momentum = 0.1;

class ApproxLinearImpl : public torch::nn::Module {
 public:
  ApproxLinearImpl(std::int64_t in, std::int64_t out, std::shared_ptr<const backend> be = nullptr,
                   bool with_bias = true, quant::estimator_pair estimators = {})
      : estimators(std::move(estimators)), be_(std::move(be)) {
    torch::nn::Linear init(torch::nn::LinearOptions(in, out).bias(with_bias));  // torch's init
    weight = register_parameter("weight", init->weight.detach().clone());
    if (with_bias) bias = register_parameter("bias", init->bias.detach().clone());
    range = register_buffer("activation_range", torch::zeros({3}));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    if (!be_) return torch::nn::functional::linear(x, weight, bias);
    detail::require_module_tensors("amgrad::nn::ApproxLinear", x, weight, bias, range);
    amgrad::require(x.dim() == 2 && x.size(1) == weight.size(1), "amgrad::nn::ApproxLinear",
                    "input ", x.sizes(), " does not fit weight ", weight.sizes(),
                    " (expected [batch, ", weight.size(1), "])");
    const auto [lo, hi] = detail::observe(*this, range, x, activation_momentum);
    const auto wc = detail::host_contiguous(weight.detach(), "the weight");
    return linear_function::apply(x, weight, bias.defined() ? bias : detail::no_bias(), be_, be_->activation_params(lo, hi),
                                  be_->weight_params(detail::floats(wc), wc.size(0)), estimators,
                                  stream);
  }
  void set_estimators(quant::estimator_pair e) { estimators = std::move(e); }

  void set_backend(std::shared_ptr<const backend> be) { be_ = std::move(be); }
  const std::shared_ptr<const backend>& get_backend() const { return be_; }

  torch::Tensor weight, bias, range;
  quant::estimator_pair estimators;
  std::uintptr_t stream = 0;  // on a CUDA device: the cudaStream_t of its AM-GEMMs (0: default)

 private:
  std::shared_ptr<const backend> be_;
};
TORCH_MODULE(ApproxLinear);

struct ApproxConv2dOptions {
  ApproxConv2dOptions(std::int64_t in, std::int64_t out, std::int64_t kernel)
      : in_channels_(in), out_channels_(out), kernel_(kernel) {}
  TORCH_ARG(std::int64_t, in_channels);
  TORCH_ARG(std::int64_t, out_channels);
  TORCH_ARG(std::int64_t, kernel);
  TORCH_ARG(std::int64_t, stride) = 1;
  TORCH_ARG(std::int64_t, padding) = 0;
  TORCH_ARG(std::int64_t, dilation) = 1;
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(quant::estimator_choice, weight_estimator) = quant::pwl{};
  TORCH_ARG(quant::estimator_choice, activation_estimator) = quant::pwl{};
};

class ApproxConv2dImpl : public torch::nn::Module {
 public:
  explicit ApproxConv2dImpl(ApproxConv2dOptions o, std::shared_ptr<const backend> be = nullptr)
      : options(o), be_(std::move(be)) {
    torch::nn::Conv2d init(torch::nn::Conv2dOptions(o.in_channels(), o.out_channels(), o.kernel())
                               .bias(o.bias()));
    weight = register_parameter("weight", init->weight.detach().clone());
    if (o.bias()) bias = register_parameter("bias", init->bias.detach().clone());
    range = register_buffer("activation_range", torch::zeros({3}));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    if (!be_)
      return torch::nn::functional::conv2d(
          x, weight, torch::nn::functional::Conv2dFuncOptions()
                         .bias(bias)
                         .stride(options.stride())
                         .padding(options.padding())
                         .dilation(options.dilation()));
    detail::require_module_tensors("amgrad::nn::ApproxConv2d", x, weight, bias, range);
    amgrad::require(x.dim() == 4 && x.size(1) == weight.size(1), "amgrad::nn::ApproxConv2d",
                    "input ", x.sizes(), " does not fit weight ", weight.sizes(),
                    " (expected NCHW with C = ", weight.size(1), ")");
    const auto [lo, hi] = detail::observe(*this, range, x, activation_momentum);
    const auto wc = detail::host_contiguous(weight.detach(), "the weight");
    ops::conv2d_geometry g;
    g.stride_h = g.stride_w = static_cast<std::size_t>(options.stride());
    g.pad_h = g.pad_w = static_cast<std::size_t>(options.padding());
    g.dilation_h = g.dilation_w = static_cast<std::size_t>(options.dilation());
    return conv2d_function::apply(x, weight, bias.defined() ? bias : detail::no_bias(), be_, be_->activation_params(lo, hi),
                                  be_->weight_params(detail::floats(wc), wc.size(0)), g,
                                  quant::estimator_pair{options.weight_estimator(),
                                                        options.activation_estimator()},
                                  stream);
  }
  void set_estimators(const quant::estimator_pair& e) {
    options.weight_estimator(e.weight).activation_estimator(e.activation);
  }

  void set_backend(std::shared_ptr<const backend> be) { be_ = std::move(be); }
  const std::shared_ptr<const backend>& get_backend() const { return be_; }

  ApproxConv2dOptions options;
  torch::Tensor weight, bias, range;
  std::uintptr_t stream = 0;  // on a CUDA device: the cudaStream_t of its AM-GEMMs (0: default)

 private:
  std::shared_ptr<const backend> be_;
};
TORCH_MODULE(ApproxConv2d);

}  // namespace amgrad::nn
