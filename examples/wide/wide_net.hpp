#pragma once
// LeNet-5 (examples/libtorch/nets.hpp) with a wide AppMult (9..16 bits) in every conv and linear
// layer. The parameters and activation-range buffers are those of a retrain::Net held inside, so
// float weights load and copy as for the 8-bit experiment; only the forward differs: each layer
// runs through an autograd function over amgrad::wide's ops (the pattern of
// include/amgrad/torch/functions.hpp, on wide states).
#include <memory>
#include <span>
#include <string>
#include <variant>

#include <torch/torch.h>

#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/torch/torch.hpp"
#include "amgrad/wide/ops.hpp"
#include "nets.hpp"

namespace retrain_wide {

using amgrad::quant::params;

// One (model, width, scheme) behind a virtual interface, chosen at run time.
class backend {
 public:
  virtual ~backend() = default;
  virtual std::string name() const = 0;
  virtual double setup_seconds() const = 0;  // LUT-1D scan or coarse 2-D build
  virtual params activation_params(float lo, float hi) const = 0;
  virtual params weight_params(std::span<const float> w, std::size_t channels) const = 0;
  virtual amgrad::wide::linear_state linear_forward(std::span<const float> x,
                                                    std::span<const float> w,
                                                    std::span<const float> bias,
                                                    amgrad::ops::linear_shape shape,
                                                    const params& xq, const params& wq,
                                                    std::span<float> y) const = 0;
  virtual amgrad::ops::linear_grads linear_backward(const amgrad::wide::linear_state& s,
                                                    std::span<const float> dy,
                                                    bool need_dx) const = 0;
  virtual amgrad::wide::conv2d_state conv2d_forward(std::span<const float> x,
                                                    std::span<const float> w,
                                                    std::span<const float> bias,
                                                    const amgrad::ops::conv2d_geometry& g,
                                                    const params& xq, const params& wq,
                                                    std::span<float> y) const = 0;
  virtual amgrad::ops::conv2d_grads conv2d_backward(const amgrad::wide::conv2d_state& s,
                                                    std::span<const float> dy,
                                                    bool need_dx) const = 0;
};

template <class Operand, class Model>
class backend_for final : public backend {
 public:
  backend_for(Model model, amgrad::wide::engine_options o, std::string label)
      : e_(std::move(model), o), label_(std::move(label)) {}
  std::string name() const override {
    return amgrad::concat(label_, "/", to_string(Operand::format), "/",
                          amgrad::wide::to_string(e_.options().scheme));
  }
  double setup_seconds() const override { return e_.setup_seconds(); }
  params activation_params(float lo, float hi) const override {
    return amgrad::quant::from_range<Operand>(lo, hi);
  }
  params weight_params(std::span<const float> w, std::size_t channels) const override {
    return amgrad::quant::from_channels<Operand>(w, channels);
  }
  amgrad::wide::linear_state linear_forward(std::span<const float> x, std::span<const float> w,
                                            std::span<const float> bias,
                                            amgrad::ops::linear_shape shape, const params& xq,
                                            const params& wq, std::span<float> y) const override {
    return amgrad::wide::linear_forward(e_, x, w, bias, shape, xq, wq, y);
  }
  amgrad::ops::linear_grads linear_backward(const amgrad::wide::linear_state& s,
                                            std::span<const float> dy,
                                            bool need_dx) const override {
    return amgrad::wide::linear_backward(e_, s, dy, need_dx);
  }
  amgrad::wide::conv2d_state conv2d_forward(std::span<const float> x, std::span<const float> w,
                                            std::span<const float> bias,
                                            const amgrad::ops::conv2d_geometry& g,
                                            const params& xq, const params& wq,
                                            std::span<float> y) const override {
    return amgrad::wide::conv2d_forward(e_, x, w, bias, g, xq, wq, y);
  }
  amgrad::ops::conv2d_grads conv2d_backward(const amgrad::wide::conv2d_state& s,
                                            std::span<const float> dy,
                                            bool need_dx) const override {
    return amgrad::wide::conv2d_backward(e_, s, dy, need_dx);
  }

 private:
  amgrad::wide::engine<Operand, Model> e_;
  std::string label_;
};

// The widths the driver is built for (each one instantiates every built-in model).
template <class F>
void with_width(int bits, F&& f) {
  if (bits == 12) return f(amgrad::wide::u12{});
  if (bits == 16) return f(amgrad::wide::u16{});
  amgrad::fail("retrain_wide", "--bits ", bits, ": this driver is built for 12 and 16 bits");
}

// A built-in model spec ("drum:3", "truncated:14") at `bits`, unsigned operands.
inline std::shared_ptr<const backend> make_backend(const std::string& spec, int bits,
                                                   amgrad::wide::engine_options o) {
  std::shared_ptr<const backend> out;
  amgrad::with_builtin_model(amgrad::parse_model_spec(spec), [&](const auto& model) {
    using Model = std::decay_t<decltype(model)>;
    with_width(bits, [&](auto op) {
      out = std::make_shared<const backend_for<decltype(op), Model>>(model, o, spec);
    });
  });
  return out;
}

// ---- autograd functions ---------------------------------------------------------------------

// The wide engine runs on the host only: a CUDA tensor is an error here, not a staged copy.
inline torch::Tensor host_float(const torch::Tensor& t, const char* what) {
  amgrad::require(!t.defined() || t.device().is_cpu(), "retrain_wide", what, " is on ",
                  t.device().str(), ", but the 12-bit engine runs on the CPU");
  return amgrad::detail::host_contiguous(t, what);
}

struct saved : torch::CustomClassHolder {
  std::shared_ptr<const backend> be;
  std::variant<amgrad::wide::linear_state, amgrad::wide::conv2d_state> state;
  bool has_bias = false;
};

inline saved& saved_of(torch::autograd::AutogradContext* ctx) {
  return *static_cast<saved*>(ctx->saved_data["wide"].toCapsule().get());
}

struct linear_function : torch::autograd::Function<linear_function> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               torch::Tensor w, torch::Tensor bias,
                               std::shared_ptr<const backend> be, params xq, params wq) {
    namespace d = amgrad::detail;
    const auto xc = host_float(x, "x"), wc = host_float(w, "weight");
    amgrad::require(xc.dim() == 2 && wc.dim() == 2 && xc.size(1) == wc.size(1),
                    "retrain_wide::linear", "x ", xc.sizes(), " and weight ", wc.sizes(),
                    " do not fit a linear layer");
    const bool with_bias = d::has_bias(bias);
    const torch::Tensor bc = with_bias ? host_float(bias, "bias") : bias;
    const amgrad::ops::linear_shape shape{static_cast<std::size_t>(xc.size(0)),
                                          static_cast<std::size_t>(xc.size(1)),
                                          static_cast<std::size_t>(wc.size(0))};
    auto y = torch::empty({xc.size(0), wc.size(0)}, torch::kFloat32);
    auto holder = c10::make_intrusive<saved>();
    holder->be = be;
    holder->has_bias = with_bias;
    holder->state = be->linear_forward(d::floats(xc), d::floats(wc),
                                       with_bias ? d::floats(bc) : std::span<const float>{}, shape,
                                       xq, wq, d::mutable_floats(y));
    ctx->saved_data["wide"] = c10::IValue::make_capsule(std::move(holder));
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    namespace d = amgrad::detail;
    auto& s = saved_of(ctx);
    const auto& state = std::get<amgrad::wide::linear_state>(s.state);
    const auto dy = host_float(grads[0], "dy");
    const bool need_dx = ctx->needs_input_grad(0);
    const auto g = s.be->linear_backward(state, d::floats(dy), need_dx);
    const auto b = static_cast<std::int64_t>(state.shape.batch),
               i = static_cast<std::int64_t>(state.shape.in),
               o = static_cast<std::int64_t>(state.shape.out);
    return {need_dx ? d::from_vector(g.dx, {b, i}) : torch::Tensor(), d::from_vector(g.dw, {o, i}),
            s.has_bias ? d::from_vector(g.dbias, {o}) : torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor()};
  }
};

struct conv2d_function : torch::autograd::Function<conv2d_function> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               torch::Tensor w, torch::Tensor bias,
                               std::shared_ptr<const backend> be, params xq, params wq,
                               amgrad::ops::conv2d_geometry g) {
    namespace d = amgrad::detail;
    const auto xc = host_float(x, "x"), wc = host_float(w, "weight");
    amgrad::require(xc.dim() == 4 && wc.dim() == 4 && xc.size(1) == wc.size(1),
                    "retrain_wide::conv2d", "x ", xc.sizes(), " and weight ", wc.sizes(),
                    " do not fit a conv2d layer (NCHW, groups = 1)");
    const bool with_bias = d::has_bias(bias);
    const torch::Tensor bc = with_bias ? host_float(bias, "bias") : bias;
    const auto u = [](std::int64_t v) { return static_cast<std::size_t>(v); };
    g.batch = u(xc.size(0));
    g.in_channels = u(xc.size(1));
    g.height = u(xc.size(2));
    g.width = u(xc.size(3));
    g.out_channels = u(wc.size(0));
    g.kernel_h = u(wc.size(2));
    g.kernel_w = u(wc.size(3));
    g.validate("retrain_wide::conv2d");
    auto y = torch::empty({xc.size(0), wc.size(0), static_cast<std::int64_t>(g.out_h()),
                           static_cast<std::int64_t>(g.out_w())},
                          torch::kFloat32);
    auto holder = c10::make_intrusive<saved>();
    holder->be = be;
    holder->has_bias = with_bias;
    holder->state = be->conv2d_forward(d::floats(xc), d::floats(wc),
                                       with_bias ? d::floats(bc) : std::span<const float>{}, g, xq,
                                       wq, d::mutable_floats(y));
    ctx->saved_data["wide"] = c10::IValue::make_capsule(std::move(holder));
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    namespace d = amgrad::detail;
    auto& s = saved_of(ctx);
    const auto& state = std::get<amgrad::wide::conv2d_state>(s.state);
    const auto dy = host_float(grads[0], "dy");
    const bool need_dx = ctx->needs_input_grad(0);
    const auto r = s.be->conv2d_backward(state, d::floats(dy), need_dx);
    const auto& g = state.geometry;
    const auto i64 = [](std::size_t v) { return static_cast<std::int64_t>(v); };
    return {need_dx ? d::from_vector(r.dx, {i64(g.batch), i64(g.in_channels), i64(g.height),
                                            i64(g.width)})
                    : torch::Tensor(),
            d::from_vector(r.dw, {i64(g.out_channels), i64(g.in_channels), i64(g.kernel_h),
                                  i64(g.kernel_w)}),
            s.has_bias ? d::from_vector(r.dbias, {i64(g.out_channels)}) : torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// ---- the net ----------------------------------------------------------------------------------

class WideLeNetImpl : public torch::nn::Module {
 public:
  WideLeNetImpl() : net(register_module("net", retrain::Net(retrain::net_spec{"lenet", 16}))) {}

  void set_backend(std::shared_ptr<const backend> be) { be_ = std::move(be); }

  // LeNet-5's forward of nets.hpp, each layer on the wide AppMult.
  torch::Tensor forward(torch::Tensor x) {
    namespace F = torch::nn::functional;
    const auto pool = F::MaxPool2dFuncOptions(2);
    x = F::max_pool2d(torch::relu(layer(0, x, 2)), pool);
    x = F::max_pool2d(torch::relu(layer(1, x, 0)), pool);
    x = torch::relu(layer(2, x.flatten(1)));
    x = torch::relu(layer(3, x));
    return layer(4, x);
  }

  retrain::Net net;  // parameters and activation ranges

 private:
  torch::Tensor layer(std::size_t i, const torch::Tensor& x, std::size_t padding = 0) {
    amgrad::require(be_ != nullptr, "retrain_wide", "the net has no backend");
    const auto params = net->named_parameters();
    const std::string name = net->layer_name(i);
    const torch::Tensor w = params[name + ".weight"], b = params[name + ".bias"];
    torch::Tensor range = net->layer_range(i);
    const auto [lo, hi] = amgrad::detail::observe(*this, range, x, amgrad::nn::activation_momentum);
    const auto wc = w.detach().contiguous();
    const auto xq = be_->activation_params(lo, hi);
    const auto wq = be_->weight_params(amgrad::detail::floats(wc), static_cast<std::size_t>(wc.size(0)));
    if (i >= net->conv_layers()) return linear_function::apply(x, w, b, be_, xq, wq);
    amgrad::ops::conv2d_geometry g;
    g.pad_h = g.pad_w = padding;
    return conv2d_function::apply(x, w, b, be_, xq, wq, g);
  }

  std::shared_ptr<const backend> be_;
};
TORCH_MODULE(WideLeNet);

}  // namespace retrain_wide
