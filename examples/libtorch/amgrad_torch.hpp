#pragma once
// amgrad for LibTorch: ApproxLinear and ApproxConv2d modules whose every multiplication runs
// through an approximate multiplier (AppMult), with the gradient scheme chosen at compile time.
// Copy this header into a project that links amgrad::amgrad and Torch, or include it from here.
//
//   auto am = amgrad::nn::make_backend<amgrad::mitchell, amgrad::u8, amgrad::lut2d<>>();
//   amgrad::nn::ApproxConv2d conv(amgrad::nn::ApproxConv2dOptions(1, 6, 5).padding(2), am);
//   amgrad::nn::ApproxLinear fc(400, 120, am);
//   auto y = fc(x);  y.sum().backward();   // dAM/da, dAM/db from the scheme
//
// Quantization (DATE'25 Eq. 7-8): activations per tensor, unsigned with a zero point, whose range
// is an EMA (momentum 0.1) of the batch min/max during training and frozen in eval mode;
// weights per output channel from their current min/max. The quantizers' gradient is the
// clipping STE. A module without a backend is an ordinary float layer (for pretraining).
// Nothing here is global: a backend is immutable after construction and may be shared.
#include <torch/torch.h>

#include <boost/hana.hpp>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "amgrad/amgrad.hpp"
#include "amgrad/ops/conv2d.hpp"
#include "amgrad/ops/linear.hpp"
#include "amgrad/quant/affine.hpp"

namespace amgrad::nn {

// ---- backend: one (model, operand, scheme) configuration behind a virtual interface --------

class backend {
 public:
  virtual ~backend() = default;
  virtual std::string name() const = 0;  // "mitchell/u8/lut2d"
  virtual int bits() const = 0;
  virtual const product_table& lut() const = 0;  // the AppMult's truth table
  virtual quant::params activation_params(float lo, float hi) const = 0;
  virtual quant::params weight_params(std::span<const float> w, std::size_t channels) const = 0;
  virtual ops::linear_state linear_forward(std::span<const float> x, std::span<const float> w,
                                           std::span<const float> bias, ops::linear_shape shape,
                                           const quant::params& xq, const quant::params& wq,
                                           std::span<float> y) const = 0;
  virtual ops::linear_grads linear_backward(const ops::linear_state& s, std::span<const float> dy,
                                            bool need_dx) const = 0;
  virtual ops::conv2d_state conv2d_forward(std::span<const float> x, std::span<const float> w,
                                           std::span<const float> bias,
                                           const ops::conv2d_geometry& g, const quant::params& xq,
                                           const quant::params& wq, std::span<float> y) const = 0;
  virtual ops::conv2d_grads conv2d_backward(const ops::conv2d_state& s, std::span<const float> dy,
                                            bool need_dx) const = 0;
};

template <class Model, class Operand, class Scheme>
class backend_for final : public backend {
 public:
  explicit backend_for(Model model = Model{}, Scheme scheme = Scheme{})
      : am_(std::move(model), std::move(scheme)) {}

  const appmult<Model, Operand, Scheme>& engine() const { return am_; }
  std::string name() const override {
    return detail::concat(Model::name, "/", to_string(Operand::format), "/", Scheme::name);
  }
  int bits() const override { return Operand::bits; }
  const product_table& lut() const override { return am_.lut(); }
  quant::params activation_params(float lo, float hi) const override {
    return quant::from_range<Operand>(lo, hi);
  }
  quant::params weight_params(std::span<const float> w, std::size_t channels) const override {
    return quant::from_channels<Operand>(w, channels);
  }
  ops::linear_state linear_forward(std::span<const float> x, std::span<const float> w,
                                   std::span<const float> bias, ops::linear_shape shape,
                                   const quant::params& xq, const quant::params& wq,
                                   std::span<float> y) const override {
    return ops::linear_forward(am_, x, w, bias, shape, xq, wq, y);
  }
  ops::linear_grads linear_backward(const ops::linear_state& s, std::span<const float> dy,
                                    bool need_dx) const override {
    return ops::linear_backward(am_, s, dy, need_dx);
  }
  ops::conv2d_state conv2d_forward(std::span<const float> x, std::span<const float> w,
                                   std::span<const float> bias, const ops::conv2d_geometry& g,
                                   const quant::params& xq, const quant::params& wq,
                                   std::span<float> y) const override {
    return ops::conv2d_forward(am_, x, w, bias, g, xq, wq, y);
  }
  ops::conv2d_grads conv2d_backward(const ops::conv2d_state& s, std::span<const float> dy,
                                    bool need_dx) const override {
    return ops::conv2d_backward(am_, s, dy, need_dx);
  }

 private:
  appmult<Model, Operand, Scheme> am_;
};

template <class Model, class Operand, class Scheme>
std::shared_ptr<const backend> make_backend(Model model = Model{}, Scheme scheme = Scheme{}) {
  return std::make_shared<const backend_for<Model, Operand, Scheme>>(std::move(model),
                                                                      std::move(scheme));
}

// ---- autograd functions ----------------------------------------------------------------------

namespace detail {

inline std::span<const float> floats(const torch::Tensor& t) {
  return {t.data_ptr<float>(), static_cast<std::size_t>(t.numel())};
}
inline std::span<float> mutable_floats(torch::Tensor& t) {
  return {t.data_ptr<float>(), static_cast<std::size_t>(t.numel())};
}
inline torch::Tensor contiguous_float(const torch::Tensor& t, const char* what) {
  amgrad::detail::require(t.device().is_cpu() && t.scalar_type() == torch::kFloat32,
                          "amgrad::nn", what, " must be a float32 CPU tensor");
  return t.contiguous();
}
inline torch::Tensor from_vector(const std::vector<float>& v, at::IntArrayRef shape) {
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).clone();
}

// What the backward pass needs, kept alive by autograd between forward and backward.
struct saved : torch::CustomClassHolder {
  std::shared_ptr<const backend> be;
  std::variant<ops::linear_state, ops::conv2d_state> state;
  bool has_bias = false;
};

inline saved& saved_of(torch::autograd::AutogradContext* ctx) {
  return *static_cast<saved*>(ctx->saved_data["amgrad"].toCapsule().get());
}

}  // namespace detail

struct linear_function : torch::autograd::Function<linear_function> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               torch::Tensor w, torch::Tensor bias,
                               std::shared_ptr<const backend> be, quant::params xq,
                               quant::params wq) {
    const auto xc = detail::contiguous_float(x, "x"), wc = detail::contiguous_float(w, "weight");
    amgrad::detail::require(xc.dim() == 2 && wc.dim() == 2 && xc.size(1) == wc.size(1),
                            "amgrad::nn::linear", "x ", xc.sizes(), " and weight ", wc.sizes(),
                            " do not fit a linear layer");
    const torch::Tensor bc = bias.defined() ? detail::contiguous_float(bias, "bias") : bias;
    const ops::linear_shape shape{static_cast<std::size_t>(xc.size(0)),
                                  static_cast<std::size_t>(xc.size(1)),
                                  static_cast<std::size_t>(wc.size(0))};
    auto y = torch::empty({xc.size(0), wc.size(0)}, torch::kFloat32);
    auto holder = c10::make_intrusive<detail::saved>();
    holder->be = be;
    holder->has_bias = bias.defined();
    holder->state = be->linear_forward(detail::floats(xc), detail::floats(wc),
                                       bc.defined() ? detail::floats(bc) : std::span<const float>{},
                                       shape, xq, wq, detail::mutable_floats(y));
    ctx->saved_data["amgrad"] = c10::IValue::make_capsule(std::move(holder));
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto& s = detail::saved_of(ctx);
    const auto& state = std::get<ops::linear_state>(s.state);
    const auto dy = detail::contiguous_float(grads[0], "dy");
    const bool need_dx = ctx->needs_input_grad(0);
    const auto g = s.be->linear_backward(state, detail::floats(dy), need_dx);
    const auto [batch, in, out] = state.shape;
    const auto ib = static_cast<std::int64_t>(batch), ii = static_cast<std::int64_t>(in),
               io = static_cast<std::int64_t>(out);
    return {need_dx ? detail::from_vector(g.dx, {ib, ii}) : torch::Tensor(),
            detail::from_vector(g.dw, {io, ii}),
            s.has_bias ? detail::from_vector(g.dbias, {io}) : torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor()};
  }
};

struct conv2d_function : torch::autograd::Function<conv2d_function> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               torch::Tensor w, torch::Tensor bias,
                               std::shared_ptr<const backend> be, quant::params xq,
                               quant::params wq, ops::conv2d_geometry g) {
    const auto xc = detail::contiguous_float(x, "x"), wc = detail::contiguous_float(w, "weight");
    amgrad::detail::require(xc.dim() == 4 && wc.dim() == 4 && xc.size(1) == wc.size(1),
                            "amgrad::nn::conv2d", "x ", xc.sizes(), " and weight ", wc.sizes(),
                            " do not fit a conv2d layer (NCHW, groups = 1)");
    const torch::Tensor bc = bias.defined() ? detail::contiguous_float(bias, "bias") : bias;
    g.batch = static_cast<std::size_t>(xc.size(0));
    g.in_channels = static_cast<std::size_t>(xc.size(1));
    g.height = static_cast<std::size_t>(xc.size(2));
    g.width = static_cast<std::size_t>(xc.size(3));
    g.out_channels = static_cast<std::size_t>(wc.size(0));
    g.kernel_h = static_cast<std::size_t>(wc.size(2));
    g.kernel_w = static_cast<std::size_t>(wc.size(3));
    g.validate("amgrad::nn::conv2d");
    auto y = torch::empty({xc.size(0), wc.size(0), static_cast<std::int64_t>(g.out_h()),
                           static_cast<std::int64_t>(g.out_w())},
                          torch::kFloat32);
    auto holder = c10::make_intrusive<detail::saved>();
    holder->be = be;
    holder->has_bias = bias.defined();
    holder->state = be->conv2d_forward(detail::floats(xc), detail::floats(wc),
                                       bc.defined() ? detail::floats(bc) : std::span<const float>{},
                                       g, xq, wq, detail::mutable_floats(y));
    ctx->saved_data["amgrad"] = c10::IValue::make_capsule(std::move(holder));
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto& s = detail::saved_of(ctx);
    const auto& state = std::get<ops::conv2d_state>(s.state);
    const auto dy = detail::contiguous_float(grads[0], "dy");
    const bool need_dx = ctx->needs_input_grad(0);
    const auto r = s.be->conv2d_backward(state, detail::floats(dy), need_dx);
    const auto& g = state.geometry;
    auto i64 = [](std::size_t v) { return static_cast<std::int64_t>(v); };
    return {need_dx ? detail::from_vector(r.dx, {i64(g.batch), i64(g.in_channels), i64(g.height),
                                                 i64(g.width)})
                    : torch::Tensor(),
            detail::from_vector(r.dw, {i64(g.out_channels), i64(g.in_channels), i64(g.kernel_h),
                                       i64(g.kernel_w)}),
            s.has_bias ? detail::from_vector(r.dbias, {i64(g.out_channels)}) : torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// ---- modules ---------------------------------------------------------------------------------

namespace detail {

// Activation range: EMA of the batch min/max in training (the first batch sets it), frozen in
// eval. Kept as a buffer so it is saved with the module.
inline std::pair<float, float> observe(torch::nn::Module& m, torch::Tensor& range,
                                       const torch::Tensor& x, double momentum) {
  if (m.is_training()) {
    torch::NoGradGuard no_grad;
    const auto lo = x.min().item<float>(), hi = x.max().item<float>();
    auto r = range.accessor<float, 1>();
    if (r[2] == 0.0f) {
      r[0] = lo;
      r[1] = hi;
      r[2] = 1.0f;
    } else {
      r[0] = static_cast<float>((1 - momentum) * r[0] + momentum * lo);
      r[1] = static_cast<float>((1 - momentum) * r[1] + momentum * hi);
    }
  }
  auto r = range.accessor<float, 1>();
  amgrad::detail::require(r[2] != 0.0f, "amgrad::nn", "an approximate layer ran in eval mode "
                          "before any training-mode batch set its activation range (calibrate)");
  return {r[0], r[1]};
}

}  // namespace detail

inline constexpr double activation_momentum = 0.1;

class ApproxLinearImpl : public torch::nn::Module {
 public:
  ApproxLinearImpl(std::int64_t in, std::int64_t out, std::shared_ptr<const backend> be = nullptr,
                   bool with_bias = true)
      : be_(std::move(be)) {
    torch::nn::Linear init(torch::nn::LinearOptions(in, out).bias(with_bias));  // torch's init
    weight = register_parameter("weight", init->weight.detach().clone());
    if (with_bias) bias = register_parameter("bias", init->bias.detach().clone());
    range = register_buffer("activation_range", torch::zeros({3}));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    if (!be_) return torch::nn::functional::linear(x, weight, bias);
    const auto [lo, hi] = detail::observe(*this, range, x, activation_momentum);
    const auto wc = weight.detach().contiguous();
    return linear_function::apply(x, weight, bias, be_, be_->activation_params(lo, hi),
                                  be_->weight_params(detail::floats(wc), wc.size(0)));
  }

  void set_backend(std::shared_ptr<const backend> be) { be_ = std::move(be); }
  const std::shared_ptr<const backend>& get_backend() const { return be_; }

  torch::Tensor weight, bias, range;

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
    const auto [lo, hi] = detail::observe(*this, range, x, activation_momentum);
    const auto wc = weight.detach().contiguous();
    ops::conv2d_geometry g;
    g.stride_h = g.stride_w = static_cast<std::size_t>(options.stride());
    g.pad_h = g.pad_w = static_cast<std::size_t>(options.padding());
    g.dilation_h = g.dilation_w = static_cast<std::size_t>(options.dilation());
    return conv2d_function::apply(x, weight, bias, be_, be_->activation_params(lo, hi),
                                  be_->weight_params(detail::floats(wc), wc.size(0)), g);
  }

  void set_backend(std::shared_ptr<const backend> be) { be_ = std::move(be); }
  const std::shared_ptr<const backend>& get_backend() const { return be_; }

  ApproxConv2dOptions options;
  torch::Tensor weight, bias, range;

 private:
  std::shared_ptr<const backend> be_;
};
TORCH_MODULE(ApproxConv2d);

// ---- run-time registry over compiled configurations ----------------------------------------
//
// The configurations are the Cartesian product of a Hana tuple of operands, a Hana tuple of
// schemes and a list of named models (a model may carry run-time parameters, or load a table
// from a file, so each entry is a name and a factory). make() picks one by name at run time.

template <class Model>
struct model_entry {
  std::string name;
  std::function<Model()> make;
};

template <class Model>
model_entry<Model> entry(std::string name, std::function<Model()> make) {
  return {std::move(name), std::move(make)};
}

namespace detail {
template <class S>
S scheme_with_hws(int hws) {
  S s{};
  if constexpr (requires { s.hws; })
    if (hws != auto_hws) s.hws = hws;
  return s;
}
}  // namespace detail

template <class Operands, class Schemes, class Models>
class registry {
 public:
  registry(Operands, Schemes, Models models) : models_(std::move(models)) {}

  // Throws amgrad::error naming the choices when the configuration is not compiled in.
  std::shared_ptr<const backend> make(const std::string& model, int bits,
                                      const std::string& scheme, int hws = auto_hws) const {
    std::shared_ptr<const backend> out;
    boost::hana::for_each(models_, [&](const auto& m) {
      if (m.name != model) return;
      using Model = typename std::decay_t<decltype(m.make)>::result_type;
      boost::hana::for_each(Operands{}, [&](auto op) {
        using Op = typename decltype(op)::type;
        if (Op::bits != bits) return;
        boost::hana::for_each(Schemes{}, [&](auto sc) {
          using Scheme = typename decltype(sc)::type;
          if (scheme != Scheme::name || out) return;
          out = make_backend<Model, Op, Scheme>(m.make(), detail::scheme_with_hws<Scheme>(hws));
        });
      });
    });
    amgrad::detail::require(out != nullptr, "amgrad::nn::registry", "no compiled configuration ",
                            model, "/", bits, "-bit/", scheme, "; models: ", model_names(),
                            "; schemes: ", scheme_names(), "; bits: ", bit_widths());
    return out;
  }

  std::string model_names() const {
    std::string s;
    boost::hana::for_each(models_, [&](const auto& m) { s += (s.empty() ? "" : " ") + m.name; });
    return s;
  }
  static std::string scheme_names() {
    std::string s;
    boost::hana::for_each(Schemes{}, [&](auto sc) {
      s += (s.empty() ? "" : " ") + std::string(decltype(sc)::type::name);
    });
    return s;
  }
  static std::string bit_widths() {
    std::string s;
    boost::hana::for_each(Operands{}, [&](auto op) {
      s += (s.empty() ? "" : " ") + std::to_string(decltype(op)::type::bits);
    });
    return s;
  }

 private:
  Models models_;
};

}  // namespace amgrad::nn
