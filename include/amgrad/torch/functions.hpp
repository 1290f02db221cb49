#pragma once
// The autograd functions of the approximate layers: forward through the backend's quantized ops,
// backward through the backend's gradient scheme (dAM/da, dAM/db) and the quantizers' estimators
// (quant::estimator_pair, default the clipping STE for both).
#include <torch/torch.h>

#include <memory>
#include <span>
#include <variant>
#include <vector>

#include "amgrad/torch/backend.hpp"

// ---- autograd functions ----------------------------------------------------------------------

namespace amgrad::detail {

inline std::span<const float> floats(const torch::Tensor& t) {
  return {t.data_ptr<float>(), static_cast<std::size_t>(t.numel())};
}
inline std::span<float> mutable_floats(torch::Tensor& t) {
  return {t.data_ptr<float>(), static_cast<std::size_t>(t.numel())};
}
// Every tensor the modules read is checked before any data pointer or accessor touches it: a
// CUDA (or meta) tensor's memory is not host memory, and reading it would crash, not throw.
// CUDA tensors are taken where the build has the device path (torch/device.hpp) and staged
// through host memory (host_contiguous); the AM-GEMMs then run on their device.
inline void require_float(const torch::Tensor& t, const char* where, const char* what) {
  amgrad::require(t.defined(), where, what, " is an undefined tensor");
  const bool cuda_ok = t.device().is_cuda() && nn::has_device_path();
  amgrad::require(t.device().is_cpu() || cuda_ok, where, what, " is on ", t.device().str(),
                  t.device().is_cuda()
                      ? ", but this build of amgrad has no CUDA path for its modules (build it with "
                        "AMGRAD_ENABLE_CUDA=ON): move the module and its input to the CPU with "
                        ".to(torch::kCPU)"
                      : ", but the amgrad modules run on the CPU or on CUDA devices: move the "
                        "module and its input with .to(torch::kCPU)");
  amgrad::require(t.scalar_type() == torch::kFloat32, where, what, " is ",
                  c10::toString(t.scalar_type()),
                  ", but the amgrad modules take float32: convert with .to(torch::kFloat32)");
}
// Also: on `device`, the device of the layer's input.
inline void require_float_on(const torch::Tensor& t, const torch::Device& device,
                             const char* where, const char* what) {
  require_float(t, where, what);
  amgrad::require(t.device() == device, where, what, " is on ", t.device().str(),
                  " but the input is on ", device.str(), ": move the module to the input's device");
}

// A checked float tensor as contiguous host memory (a copy for a CUDA tensor, else itself when
// already contiguous).
inline torch::Tensor host_contiguous(const torch::Tensor& t, const char* what) {
  require_float(t, "amgrad::nn", what);
  return t.to(torch::kCPU).contiguous();
}

// Where the AM-GEMMs of a layer on `x` run: x's CUDA device on `stream`, else the host.
inline nn::execution execution_for(const torch::Tensor& x, std::uintptr_t stream) {
  if (!x.device().is_cuda()) return {};
  return {x.device().has_index() ? x.device().index() : 0, stream};
}
// A result computed in host memory, on the layer's device.
inline torch::Tensor on_layer_device(torch::Tensor host, const nn::execution& where) {
  if (!where.on_device()) return host;
  return host.to(torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(where.device)));
}

inline torch::Tensor from_vector(const std::vector<float>& v, at::IntArrayRef shape,
                                 const nn::execution& where = {}) {
  return on_layer_device(
      torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).clone(), where);
}

// LibTorch 1.13's Function::apply cannot take an undefined tensor (it asks it for a device), so
// "no bias" travels as an empty tensor (no_bias()).
inline torch::Tensor no_bias() { return torch::empty({0}); }
inline bool has_bias(const torch::Tensor& bias) { return bias.defined() && bias.numel() != 0; }

// What the backward pass needs, kept alive by autograd between forward and backward.
struct saved : torch::CustomClassHolder {
  std::shared_ptr<const nn::backend> be;
  std::variant<ops::linear_state, ops::conv2d_state> state;
  bool has_bias = false;
  quant::estimator_pair est;  // the forward's estimators, for the backward
  nn::execution where;        // the forward's device and stream, for the backward
};

inline saved& saved_of(torch::autograd::AutogradContext* ctx) {
  return *static_cast<saved*>(ctx->saved_data["amgrad"].toCapsule().get());
}

}  // namespace amgrad::detail

namespace amgrad::nn {

struct linear_function : torch::autograd::Function<linear_function> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               torch::Tensor w, torch::Tensor bias,
                               std::shared_ptr<const backend> be, quant::params xq,
                               quant::params wq, quant::estimator_pair est = {},
                               std::uintptr_t stream = 0) {
    const auto xc = detail::host_contiguous(x, "x"), wc = detail::host_contiguous(w, "weight");
    amgrad::require(xc.dim() == 2 && wc.dim() == 2 && xc.size(1) == wc.size(1),
                            "amgrad::nn::linear", "x ", xc.sizes(), " and weight ", wc.sizes(),
                            " do not fit a linear layer");
    const torch::Tensor bc = detail::has_bias(bias) ? detail::host_contiguous(bias, "bias") : bias;
    const ops::linear_shape shape{static_cast<std::size_t>(xc.size(0)),
                                  static_cast<std::size_t>(xc.size(1)),
                                  static_cast<std::size_t>(wc.size(0))};
    auto y = torch::empty({xc.size(0), wc.size(0)}, torch::kFloat32);
    auto holder = c10::make_intrusive<detail::saved>();
    holder->be = be;
    holder->has_bias = detail::has_bias(bias);
    holder->est = est;
    holder->where = detail::execution_for(x, stream);
    holder->state = be->linear_forward(detail::floats(xc), detail::floats(wc),
                                       detail::has_bias(bias) ? detail::floats(bc) : std::span<const float>{},
                                       shape, xq, wq, detail::mutable_floats(y), est,
                                       holder->where);
    const auto where = holder->where;
    ctx->saved_data["amgrad"] = c10::IValue::make_capsule(std::move(holder));
    return detail::on_layer_device(y, where);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto& s = detail::saved_of(ctx);
    const auto& state = std::get<ops::linear_state>(s.state);
    const auto dy = detail::host_contiguous(grads[0], "dy");
    const bool need_dx = ctx->needs_input_grad(0);
    const auto g = s.be->linear_backward(state, detail::floats(dy), need_dx, s.est, s.where);
    const auto [batch, in, out] = state.shape;
    const auto ib = static_cast<std::int64_t>(batch), ii = static_cast<std::int64_t>(in),
               io = static_cast<std::int64_t>(out);
    return {need_dx ? detail::from_vector(g.dx, {ib, ii}, s.where) : torch::Tensor(),
            detail::from_vector(g.dw, {io, ii}, s.where),
            s.has_bias ? detail::from_vector(g.dbias, {io}, s.where) : torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

struct conv2d_function : torch::autograd::Function<conv2d_function> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               torch::Tensor w, torch::Tensor bias,
                               std::shared_ptr<const backend> be, quant::params xq,
                               quant::params wq, ops::conv2d_geometry g,
                               quant::estimator_pair est = {}, std::uintptr_t stream = 0) {
    const auto xc = detail::host_contiguous(x, "x"), wc = detail::host_contiguous(w, "weight");
    amgrad::require(xc.dim() == 4 && wc.dim() == 4 && xc.size(1) == wc.size(1),
                            "amgrad::nn::conv2d", "x ", xc.sizes(), " and weight ", wc.sizes(),
                            " do not fit a conv2d layer (NCHW, groups = 1)");
    const torch::Tensor bc = detail::has_bias(bias) ? detail::host_contiguous(bias, "bias") : bias;
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
    holder->has_bias = detail::has_bias(bias);
    holder->est = est;
    holder->where = detail::execution_for(x, stream);
    holder->state = be->conv2d_forward(detail::floats(xc), detail::floats(wc),
                                       detail::has_bias(bias) ? detail::floats(bc) : std::span<const float>{},
                                       g, xq, wq, detail::mutable_floats(y), est,
                                       holder->where);
    const auto where = holder->where;
    ctx->saved_data["amgrad"] = c10::IValue::make_capsule(std::move(holder));
    return detail::on_layer_device(y, where);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto& s = detail::saved_of(ctx);
    const auto& state = std::get<ops::conv2d_state>(s.state);
    const auto dy = detail::host_contiguous(grads[0], "dy");
    const bool need_dx = ctx->needs_input_grad(0);
    const auto r = s.be->conv2d_backward(state, detail::floats(dy), need_dx, s.est, s.where);
    const auto& g = state.geometry;
    auto i64 = [](std::size_t v) { return static_cast<std::int64_t>(v); };
    return {need_dx ? detail::from_vector(r.dx, {i64(g.batch), i64(g.in_channels), i64(g.height),
                                                 i64(g.width)},
                                                 s.where)
                    : torch::Tensor(),
            detail::from_vector(r.dw, {i64(g.out_channels), i64(g.in_channels), i64(g.kernel_h),
                                       i64(g.kernel_w)},
                                       s.where),
            s.has_bias ? detail::from_vector(r.dbias, {i64(g.out_channels)}, s.where) : torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace amgrad::nn
