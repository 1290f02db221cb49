#pragma once
// The gradient-fidelity probe: how close is each scheme's gradient to the gradient of the loss
// of the *actual* AppMult network, without any training.
//
// The AppMult network's loss L is piecewise constant in the weights and inputs of an
// approximate layer (they are quantized), so its reference gradient is that of the smoothed
// loss L_sigma(v) = E_u L(v + sigma * s (.) u), u ~ N(0, I), where s is the quantization step of
// each coordinate (per output channel for weights, per tensor for the input) and sigma is in
// steps. Antithetic randomized smoothing estimates it from N directions u_i:
//   c_i = (L(v + sigma s u_i) - L(v - sigma s u_i)) / (2 sigma),  g_ref = mean_i c_i u_i / s.
// Every number is built from unbiased pieces: g . g_ref = mean_i c_i (g . u_i / s) (a sample
// mean, hence a standard error), and ||g_ref||^2 by the U-statistic
// (||sum_i c_i u_i / s||^2 - sum_i c_i^2 ||u_i / s||^2) / (N (N - 1)), which removes the
// estimator's own noise. The schemes share the directions, so cos - cos(ste) is paired.
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
      const auto inv_step = (1.0 / step.to(torch::kFloat64)).flatten();
      const long dim = static_cast<long>(step.numel());
      const int n = po.samples;
      torch::manual_seed(po.seed + 7919 * layer + (is_weight ? 0 : 1));
      for (double sigma : po.sigmas) {
        torch::Tensor sum1 = torch::zeros({dim}, torch::kFloat64), sum2 = torch::zeros({dim}, torch::kFloat64);
        double sq = 0;
        std::map<std::string, std::vector<double>> t;  // per scheme: c_i (g . u_i / s)
        std::map<std::string, double> norm;
        for (const auto& [scheme, be] : backends) {
          const auto& gv = is_weight ? g[scheme].weight[layer] : g[scheme].input[layer];
          norm[scheme] = gv.norm().item<double>();
        }
        std::vector<torch::Tensor> inject(layers);
        for (int i = 0; i < n; ++i) {
          const auto u = torch::randn(shape, torch::kFloat32);
          const auto delta = (u * step) * static_cast<float>(sigma);
          double plus = 0, minus = 0;
          if (is_weight) {
            torch::NoGradGuard no_grad;
            w.copy_(w0 + delta);
            plus = detail::loss_of(net, x, y);
            w.copy_(w0 - delta);
            minus = detail::loss_of(net, x, y);
            w.copy_(w0);
          } else {
            net->inject = &inject;
            inject[layer] = delta;
            plus = detail::loss_of(net, x, y);
            inject[layer] = -delta;
            minus = detail::loss_of(net, x, y);
            inject[layer] = torch::Tensor();
            net->inject = nullptr;
          }
          const double c = (plus - minus) / (2.0 * sigma);
          const auto us = u.to(torch::kFloat64).flatten() * inv_step;  // u / s
          (i < n / 2 ? sum1 : sum2).add_(us, c);
          sq += c * c * us.dot(us).item<double>();
          for (const auto& [scheme, be] : backends) {
            const auto& gv = is_weight ? g[scheme].weight[layer] : g[scheme].input[layer];
            t[scheme].push_back(c * gv.dot(us).item<double>());
          }
        }
        const auto sum = sum1 + sum2;
        const double nn = static_cast<double>(n);
        const double ref_sq = (sum.dot(sum).item<double>() - sq) / (nn * (nn - 1.0));
        const double ref_norm = ref_sq > 0 ? std::sqrt(ref_sq) : NAN;
        const double split = torch::nn::functional::cosine_similarity(
                                 sum1.unsqueeze(0), sum2.unsqueeze(0),
                                 torch::nn::functional::CosineSimilarityFuncOptions().dim(1))
                                 .item<double>();
        const auto& ste_t = t.count("ste") ? t["ste"] : t[backends.front().first];
        const double ste_norm = t.count("ste") ? norm["ste"] : norm[backends.front().first];
        for (const auto& [scheme, be] : backends) {
          const auto& ts = t[scheme];
          const auto st = summarize(ts);
          const double ns = norm[scheme];
          probe_record p;
          p.setting = setting;
          p.name = name;
          p.bits = bits;
          p.layer = net->layer_name(layer);
          p.kind = kind;
          p.sigma = sigma;
          p.scheme = scheme;
          p.cos = st.mean / (ns * ref_norm);
          p.cos_se = st.std / std::sqrt(nn) / (ns * ref_norm);
          p.rel_err = std::sqrt(std::max(0.0, ns * ns - 2 * st.mean + ref_sq)) / ref_norm;
          std::vector<double> d(ts.size());
          for (std::size_t k = 0; k < ts.size(); ++k)
            d[k] = (ts[k] / ns - ste_t[k] / ste_norm) / ref_norm;
          const auto sd = summarize(d);
          p.dcos = sd.mean;
          p.dcos_se = sd.std / std::sqrt(nn);
          p.split_half = split;
          p.samples = n;
          p.dim = dim;
          out.push_back(p);
        }
      }
    }
  }
  return out;
}

}  // namespace retrain
