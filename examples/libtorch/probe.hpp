#pragma once
// The gradient-fidelity probe: how close is each scheme's gradient to the gradient of the loss
// of the *actual* AppMult network, without any training.
//
// The AppMult network's loss L is piecewise constant in the weights and the inputs of an
// approximate layer (they are quantized), so the reference is the gradient of the smoothed loss
// L_sigma(v) = E_z L(v + sigma s (.) z), z ~ N(0, I), where s is each coordinate's quantization
// step (per output channel for weights, per tensor for inputs) and sigma is in steps. Gradients
// are compared per step: G = s (.) grad L_sigma, G_k = s (.) g_k for scheme k.
//
// A full-vector estimate of G needs far more samples than the layer has coordinates; the probe
// works with directional derivatives instead, whose precision does not depend on the dimension.
// For a random direction u ~ N(0, I) and two independent dithers z1, z2 ~ N(0, I):
//   c_j = (L(v + sigma s z_j + sigma s u) - L(v + sigma s z_j - sigma s u)) / (2 sigma),
// so that E[c_j | u] = G . u (to second order in sigma) with noise independent between j = 1, 2.
// Then, over N directions (sample means, hence standard errors):
//   G . G_k = E[c p_k] with p_k = G_k . u (the scheme's prediction, exact), c = (c_1 + c_2) / 2;
//   |G|^2   = E[c_1 c_2];
//   cos_k   = G . G_k / (|G_k| |G|),   rel_k = |G_k - G| / |G|;
//   signal  = E[c_1 c_2] / E[(c_1^2 + c_2^2) / 2]: the share of a finite difference's variance
//             that a smooth gradient explains (the rest is the staircase of the quantized loss).
// The schemes share the directions, so cos_k - cos_ste is paired (its standard error is small).
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "nets.hpp"
#include "report.hpp"

namespace retrain {

struct probe_options {
  std::vector<double> sigmas{1.0, 4.0};
  int samples = 256;
  std::int64_t batch = 64;
  std::uint64_t seed = 12345;
};

namespace detail {

inline double loss_of(Net& net, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  return torch::nn::functional::cross_entropy(net->forward(x), y).item<double>();
}

}  // namespace detail

// net: calibrated, in any mode (the probe runs it in eval mode). backends: scheme -> backend,
// all over the same table; the reference uses the first one's forward (identical for all).
inline std::vector<probe_record> probe_gradients(
    Net& net, approx_mode mode,
    const std::vector<std::pair<std::string, std::shared_ptr<const amgrad::nn::backend>>>& backends,
    const torch::Tensor& x, const torch::Tensor& y, const probe_options& po,
    const std::string& setting, const std::string& name, int bits) {
  std::vector<probe_record> out;
  if (backends.empty()) return out;
  net->eval();
  const std::size_t layers = net->layers();
  const double levels = std::ldexp(1.0, bits) - 1.0;

  // Each scheme's gradients: weights and layer inputs, flattened, double.
  struct grads {
    std::vector<torch::Tensor> weight, input;
  };
  std::map<std::string, grads> g;
  for (const auto& [scheme, be] : backends) {
    net->set_backend(be, mode);
    std::vector<torch::Tensor> recorded;
    net->record = &recorded;
    net->zero_grad();
    auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    net->record = nullptr;
    grads& gs = g[scheme];
    for (std::size_t i = 0; i < layers; ++i) {
      gs.weight.push_back(net->layer_weight(i).grad().detach().to(torch::kFloat64).flatten().clone());
      const auto& r = recorded[i];
      gs.input.push_back(r.grad().defined() ? r.grad().detach().to(torch::kFloat64).flatten().clone()
                                            : torch::zeros({r.numel()}, torch::kFloat64));
    }
  }
  net->set_backend(backends.front().second, mode);
  net->zero_grad();

  // The inputs of every layer at the unperturbed point, for their shapes.
  std::vector<torch::Tensor> inputs;
  {
    torch::NoGradGuard no_grad;
    net->record = &inputs;
    net->forward(x);
    net->record = nullptr;
  }

  for (std::size_t layer = 0; layer < layers; ++layer) {
    if (!net->layer_approximate(layer)) continue;
    for (const char* kind : {"weight", "input"}) {
      const bool is_weight = std::string(kind) == "weight";
      torch::Tensor& w = net->layer_weight(layer);
      const torch::Tensor w0 = w.detach().clone();
      // The quantization step of each coordinate (float, shaped like the perturbed tensor).
      torch::Tensor step;
      std::vector<int64_t> shape;
      if (is_weight) {
        const auto flat = w0.reshape({w0.size(0), -1});
        const auto lo = std::get<0>(flat.min(1)).clamp_max(0.0), hi = std::get<0>(flat.max(1)).clamp_min(0.0);
        auto s = ((hi - lo) / levels).clamp_min(1e-8);
        std::vector<int64_t> view(static_cast<std::size_t>(w0.dim()), 1);
        view[0] = w0.size(0);
        step = s.reshape(view).expand_as(w0).contiguous();
        shape = w0.sizes().vec();
      } else {
        const auto range = net->layer_range(layer);
        const double lo = std::min(0.0, static_cast<double>(range[0].item<float>()));
        const double hi = std::max(0.0, static_cast<double>(range[1].item<float>()));
        shape = inputs[layer].sizes().vec();
        step = torch::full(shape, std::max((hi - lo) / levels, 1e-8), torch::kFloat32);
      }
      const auto step64 = step.to(torch::kFloat64).flatten();
      const long dim = static_cast<long>(step.numel());
      const int n = po.samples;
      torch::manual_seed(po.seed + 7919 * layer + (is_weight ? 0 : 1));
      // Each scheme's per-step gradient s (.) g_k and its norm.
      std::map<std::string, torch::Tensor> gk;
      std::map<std::string, double> norm;
      for (const auto& [scheme, be] : backends) {
        const auto& gv = is_weight ? g[scheme].weight[layer] : g[scheme].input[layer];
        gk[scheme] = gv * step64;
        norm[scheme] = gk[scheme].norm().item<double>();
      }
      std::vector<torch::Tensor> inject(layers);
      auto loss_at = [&](const torch::Tensor& delta) {
        if (is_weight) {
          torch::NoGradGuard no_grad;
          w.copy_(w0 + delta);
          const double l = detail::loss_of(net, x, y);
          w.copy_(w0);
          return l;
        }
        net->inject = &inject;
        inject[layer] = delta;
        const double l = detail::loss_of(net, x, y);
        inject[layer] = torch::Tensor();
        net->inject = nullptr;
        return l;
      };
      for (double sigma : po.sigmas) {
        const auto scaled = step * static_cast<float>(sigma);
        std::vector<double> c1(n), c2(n);
        std::map<std::string, std::vector<double>> p;  // per scheme: G_k . u
        for (int i = 0; i < n; ++i) {
          const auto u = torch::randn(shape, torch::kFloat32);
          const auto d = u * scaled;
          double c[2];
          for (int j = 0; j < 2; ++j) {
            const auto z = torch::randn(shape, torch::kFloat32) * scaled;
            c[j] = (loss_at(z + d) - loss_at(z - d)) / (2.0 * sigma);
          }
          c1[i] = c[0];
          c2[i] = c[1];
          const auto u64 = u.to(torch::kFloat64).flatten();
          for (const auto& [scheme, be] : backends) p[scheme].push_back(gk[scheme].dot(u64).item<double>());
        }
        const double nn = static_cast<double>(n);
        double g2 = 0, var = 0;
        for (int i = 0; i < n; ++i) {
          g2 += c1[i] * c2[i];
          var += 0.5 * (c1[i] * c1[i] + c2[i] * c2[i]);
        }
        g2 /= nn;
        var /= nn;
        const double gnorm = g2 > 0 ? std::sqrt(g2) : NAN;
        const std::string base = p.count("ste") ? "ste" : backends.front().first;
        std::vector<double> base_t(n);
        for (int i = 0; i < n; ++i)
          base_t[i] = 0.5 * (c1[i] + c2[i]) * p[base][i] / norm[base];
        for (const auto& [scheme, be] : backends) {
          std::vector<double> t(n), d(n);
          for (int i = 0; i < n; ++i) {
            t[i] = 0.5 * (c1[i] + c2[i]) * p[scheme][i] / norm[scheme];
            d[i] = t[i] - base_t[i];
          }
          const auto st = summarize(t), sd = summarize(d);
          probe_record r;
          r.setting = setting;
          r.name = name;
          r.bits = bits;
          r.layer = net->layer_name(layer);
          r.kind = kind;
          r.sigma = sigma;
          r.scheme = scheme;
          r.cos = st.mean / gnorm;
          r.cos_se = st.std / std::sqrt(nn) / gnorm;
          const double ns = norm[scheme];
          r.rel_err = std::sqrt(std::max(0.0, ns * ns - 2 * st.mean * ns + g2)) / gnorm;
          r.dcos = sd.mean / gnorm;
          r.dcos_se = sd.std / std::sqrt(nn) / gnorm;
          r.split_half = var > 0 ? g2 / var : NAN;  // the signal share
          r.samples = n;
          r.dim = dim;
          out.push_back(r);
        }
      }
    }
  }
  return out;
}

}  // namespace retrain
