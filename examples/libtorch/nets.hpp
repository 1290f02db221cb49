#pragma once
// The two networks of the experiment, both for 28x28 grey images and 10 classes:
//   lenet   LeNet-5 (conv 1-6-16 5x5, fc 400-120-84-10), no BatchNorm
//   vgg     a narrow VGG-style stack with BatchNorm: three blocks of two 3x3 conv + BN + ReLU
//           (widths w, 2w, 4w; 2x2 max pool after each: 28 -> 14 -> 7 -> 3), then one linear
//           classifier (4w*3*3 -> 10); 6 conv layers, w = 8 by default (vgg = vgg8)
// Every conv and linear layer is an amgrad module; set_backend puts an AppMult on the conv
// layers only (approx = conv, the DATE'25 setting) or on all of them (approx = all).
// For the gradient probe a forward can record the input of every approximate layer
// (`record`) and add a perturbation to it (`inject`).
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "amgrad/error.hpp"
#include "amgrad/torch/torch.hpp"

namespace retrain {

enum class approx_mode { conv, all };

inline const char* to_string(approx_mode a) { return a == approx_mode::conv ? "conv" : "all"; }
inline approx_mode parse_approx(const std::string& s) {
  if (s == "conv") return approx_mode::conv;
  if (s == "all") return approx_mode::all;
  amgrad::fail("retrain", "--approx ", s, ": expected conv or all");
}

struct net_spec {
  std::string kind = "lenet";  // lenet | vgg
  int width = 16;              // vgg: channels of the first block
  std::string name() const { return kind == "vgg" ? amgrad::concat("vgg", width) : "lenet5"; }
  std::string describe() const {
    if (kind == "vgg")
      return amgrad::concat("VGG-style (6 conv 3x3 + BatchNorm, widths ", width, "-", width, "-",
                            2 * width, "-", 2 * width, "-", 4 * width, "-", 4 * width,
                            ", max pool after each pair, fc ", 4 * width * 9, "-10)");
    return "LeNet-5 (conv 1-6-16 5x5, fc 400-120-84-10, no BatchNorm)";
  }
};

inline net_spec parse_net(const std::string& s) {
  if (s == "lenet" || s == "lenet5") return {"lenet", 16};
  if (s == "vgg") return {"vgg", 8};
  if (s.rfind("vgg", 0) == 0 && s.size() > 3 &&
      s.find_first_not_of("0123456789", 3) == std::string::npos) {
    const int w = std::stoi(s.substr(3));
    amgrad::require(w >= 1 && w <= 256, "retrain", "--net ", s, ": width out of range");
    return {"vgg", w};
  }
  amgrad::fail("retrain", "--net ", s, ": expected lenet, vgg or vggW (e.g. vgg8)");
}

class NetImpl : public torch::nn::Module {
 public:
  explicit NetImpl(net_spec spec = {}) : spec_(std::move(spec)) {
    using amgrad::nn::ApproxConv2d;
    using amgrad::nn::ApproxConv2dOptions;
    using amgrad::nn::ApproxLinear;
    if (spec_.kind == "lenet") {
      add_conv(ApproxConv2d(ApproxConv2dOptions(1, 6, 5).padding(2)));
      add_conv(ApproxConv2d(ApproxConv2dOptions(6, 16, 5)));
      add_fc(ApproxLinear(400, 120));
      add_fc(ApproxLinear(120, 84));
      add_fc(ApproxLinear(84, 10));
    } else {
      const std::int64_t w = spec_.width;
      const std::int64_t channels[] = {1, w, w, 2 * w, 2 * w, 4 * w, 4 * w};
      for (int i = 0; i < 6; ++i) {
        // A bias before BatchNorm is redundant, but the grid's VGG8 (docs/results.md, its cached
        // float weights) was made with one: ApproxConv2d without a bias threw when it was built.
        add_conv(ApproxConv2d(
            ApproxConv2dOptions(channels[i], channels[i + 1], 3).padding(1)));
        bns_.push_back(register_module(
            amgrad::concat("bn", i + 1),
            torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels[i + 1]))));
      }
      add_fc(ApproxLinear(4 * w * 9, 10));
    }
  }

  const net_spec& spec() const { return spec_; }
  std::size_t layers() const { return convs_.size() + fcs_.size(); }  // approximate layers
  std::size_t conv_layers() const { return convs_.size(); }
  std::string layer_name(std::size_t i) const {
    return i < convs_.size() ? amgrad::concat("conv", i + 1)
                             : amgrad::concat("fc", i - convs_.size() + 1);
  }
  torch::Tensor& layer_weight(std::size_t i) {
    return i < convs_.size() ? convs_[i]->weight : fcs_[i - convs_.size()]->weight;
  }
  // The frozen activation range {lo, hi, set} of layer i's input quantizer.
  torch::Tensor layer_range(std::size_t i) const {
    return i < convs_.size() ? convs_[i]->range : fcs_[i - convs_.size()]->range;
  }
  bool layer_approximate(std::size_t i) const {
    return i < convs_.size() ? convs_[i]->get_backend() != nullptr
                             : fcs_[i - convs_.size()]->get_backend() != nullptr;
  }

  // The AppMult on the conv layers (approx_mode::conv) or on every layer; nullptr: float.
  void set_backend(const std::shared_ptr<const amgrad::nn::backend>& be, approx_mode mode) {
    for (auto& c : convs_) c->set_backend(be);
    for (auto& f : fcs_) f->set_backend(mode == approx_mode::all ? be : nullptr);
  }
  std::vector<torch::nn::BatchNorm2d>& batch_norms() { return bns_; }

  // Probe hooks: when set, inputs of the approximate layers are recorded (keeping their
  // gradient after backward) and inject[i], where defined, is added to layer i's input.
  std::vector<torch::Tensor>* record = nullptr;
  const std::vector<torch::Tensor>* inject = nullptr;

  torch::Tensor forward(torch::Tensor x) {
    namespace F = torch::nn::functional;
    const auto pool = F::MaxPool2dFuncOptions(2);
    if (spec_.kind == "lenet") {
      x = F::max_pool2d(torch::relu(convs_[0](in(0, x))), pool);
      x = F::max_pool2d(torch::relu(convs_[1](in(1, x))), pool);
      x = torch::relu(fcs_[0](in(2, x.flatten(1))));
      x = torch::relu(fcs_[1](in(3, x)));
      return fcs_[2](in(4, x));
    }
    for (std::size_t i = 0; i < 6; ++i) {
      x = torch::relu(bns_[i](convs_[i](in(i, x))));
      if (i % 2 == 1) x = F::max_pool2d(x, pool);
    }
    return fcs_[0](in(6, x.flatten(1)));
  }

 private:
  void add_conv(amgrad::nn::ApproxConv2d c) {
    convs_.push_back(register_module(amgrad::concat("conv", convs_.size() + 1), c));
  }
  void add_fc(amgrad::nn::ApproxLinear f) {
    fcs_.push_back(register_module(amgrad::concat("fc", fcs_.size() + 1), f));
  }
  torch::Tensor in(std::size_t i, torch::Tensor x) {
    if (inject && i < inject->size() && (*inject)[i].defined()) x = x + (*inject)[i];
    if (record) {
      if (x.requires_grad())
        x.retain_grad();  // keeps the gradient flowing to the layers before
      else
        x = x.detach().requires_grad_(true);  // the image
      if (record->size() <= i) record->resize(i + 1);
      (*record)[i] = x;
    }
    return x;
  }

  net_spec spec_;
  std::vector<amgrad::nn::ApproxConv2d> convs_;
  std::vector<amgrad::nn::ApproxLinear> fcs_;
  std::vector<torch::nn::BatchNorm2d> bns_;
};
TORCH_MODULE(Net);

// Copies parameters and buffers (BatchNorm statistics, activation ranges) between two nets of
// the same spec.
inline void copy_state(Net& to, const Net& from) {
  torch::NoGradGuard no_grad;
  const auto src = from->named_parameters();
  for (auto& p : to->named_parameters()) p.value().copy_(src[p.key()]);
  const auto bsrc = from->named_buffers();
  for (auto& b : to->named_buffers()) b.value().copy_(bsrc[b.key()]);
}

}  // namespace retrain
