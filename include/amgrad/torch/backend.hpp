#pragma once
// amgrad::nn::backend: one (model, operand, scheme) configuration behind a virtual interface, so
// that Torch modules pick an AppMult at run time. A backend is immutable after construction and
// may be shared between modules and threads.
#include <torch/torch.h>

#include <memory>
#include <span>
#include <string>
#include <utility>

#include "amgrad/appmult.hpp"
#include "amgrad/ops/conv2d.hpp"
#include "amgrad/ops/linear.hpp"
#include "amgrad/quant/affine.hpp"
#include "amgrad/quant/estimators.hpp"
#include "amgrad/torch/device.hpp"

namespace amgrad::nn {

// ---- backend: one (model, operand, scheme) configuration behind a virtual interface --------
// The quantizer estimators (weights, activations) travel with each call as a value,
// quant::estimator_pair, default pwl/pwl (the clipping STE); backend_for dispatches it once per
// call to the ops' compile-time policies. Pass the forward's pair to the backward.
// Where the AM-GEMMs run is an nn::execution, also per call: the host (default), or a CUDA
// device and stream (device.hpp; the operands stay host buffers either way).

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
                                           std::span<float> y,
                                           const quant::estimator_pair& est = {},
                                           const execution& where = {}) const = 0;
  virtual ops::linear_grads linear_backward(const ops::linear_state& s, std::span<const float> dy,
                                            bool need_dx,
                                            const quant::estimator_pair& est = {},
                                           const execution& where = {}) const = 0;
  virtual ops::conv2d_state conv2d_forward(std::span<const float> x, std::span<const float> w,
                                           std::span<const float> bias,
                                           const ops::conv2d_geometry& g, const quant::params& xq,
                                           const quant::params& wq, std::span<float> y,
                                           const quant::estimator_pair& est = {},
                                           const execution& where = {}) const = 0;
  virtual ops::conv2d_grads conv2d_backward(const ops::conv2d_state& s, std::span<const float> dy,
                                            bool need_dx,
                                            const quant::estimator_pair& est = {},
                                           const execution& where = {}) const = 0;
};

template <class Model, class Operand, class Scheme>
class backend_for final : public backend {
 public:
  // label: the multiplier's name in name() (the model's name by default; a table read from a
  // file is better called by its design's name).
  explicit backend_for(Model model = Model{}, Scheme scheme = Scheme{},
                       std::string label = Model::name)
      : am_(std::move(model), std::move(scheme)), label_(std::move(label)) {}

  const appmult<Model, Operand, Scheme>& engine() const { return am_; }
  std::string name() const override {
    return amgrad::concat(label_, "/", to_string(Operand::format), "/", Scheme::name);
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
                                   std::span<float> y,
                                   const quant::estimator_pair& est = {},
                                   const execution& where = {}) const override {
    return quant::with_estimators(est, [&]<class W, class A>(const W&, const A&) {
      return ops::linear_forward<W, A>(engine_at(where), x, w, bias, shape, xq, wq, y);
    });
  }
  ops::linear_grads linear_backward(const ops::linear_state& s, std::span<const float> dy,
                                    bool need_dx,
                                    const quant::estimator_pair& est = {},
                                   const execution& where = {}) const override {
    return quant::with_estimators(est, [&](const auto& we, const auto& ae) {
      return ops::linear_backward(engine_at(where), s, dy, need_dx, we, ae);
    });
  }
  ops::conv2d_state conv2d_forward(std::span<const float> x, std::span<const float> w,
                                   std::span<const float> bias, const ops::conv2d_geometry& g,
                                   const quant::params& xq, const quant::params& wq,
                                   std::span<float> y,
                                   const quant::estimator_pair& est = {},
                                   const execution& where = {}) const override {
    return quant::with_estimators(est, [&]<class W, class A>(const W&, const A&) {
      return ops::conv2d_forward<W, A>(engine_at(where), x, w, bias, g, xq, wq, y);
    });
  }
  ops::conv2d_grads conv2d_backward(const ops::conv2d_state& s, std::span<const float> dy,
                                    bool need_dx,
                                    const quant::estimator_pair& est = {},
                                   const execution& where = {}) const override {
    return quant::with_estimators(est, [&](const auto& we, const auto& ae) {
      return ops::conv2d_backward(engine_at(where), s, dy, need_dx, we, ae);
    });
  }

 private:
  using engine_type = appmult<Model, Operand, Scheme>;

  // The host engine, or the device's AM-GEMMs (made on first use there), behind one engine type.
  gemm_engine<Operand> engine_at(const execution& where) const {
    if (!where.on_device()) return {&host_, 0};
    const auto& on_device = device_.on(where.device, am_.lut(), [&] {
      return kernel_gradients(amgrad::detail::kernel_gradients(am_.scheme(), am_.lut()));
    });
    return {&on_device, where.stream};
  }

  engine_type am_;
  host_gemm<engine_type> host_{am_};
  device_gemms device_;
  std::string label_;
};

template <class Model, class Operand, class Scheme>
std::shared_ptr<const backend> make_backend(Model model = Model{}, Scheme scheme = Scheme{}) {
  return std::make_shared<const backend_for<Model, Operand, Scheme>>(std::move(model),
                                                                      std::move(scheme));
}

}  // namespace amgrad::nn
