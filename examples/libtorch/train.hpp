#pragma once
// Training, evaluation and calibration of a Net.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include <torch/torch.h>

#include "data.hpp"
#include "nets.hpp"

namespace retrain {

inline constexpr std::int64_t batch_size = 64;

// Templates on the module holder: retrain::Net here, examples/wide's WideLeNet there.
template <class Module>
double evaluate(Module& net, const dataset& test) {
  torch::NoGradGuard no_grad;
  net->eval();
  std::int64_t correct = 0;
  const auto n = test.size();
  for (std::int64_t i = 0; i < n; i += 1000) {
    const auto end = std::min(n, i + 1000);
    const auto logits = net->forward(test.images.slice(0, i, end));
    correct += logits.argmax(1).eq(test.labels.slice(0, i, end)).sum().template item<std::int64_t>();
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(n);
}

struct epoch_stats {
  double loss = 0, seconds = 0;
};

// One epoch over `train` in an order drawn from rng; the caller sets the lr. max_batches > 0
// stops early (for the fast tests).
template <class Module>
epoch_stats train_epoch(Module& net, const dataset& train, torch::optim::Optimizer& opt,
                               std::mt19937_64& rng, std::int64_t max_batches = 0) {
  net->train();
  const auto n = train.size();
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  const auto index = torch::from_blob(order.data(), {n}, torch::kInt64);
  double loss_sum = 0;
  std::int64_t batches = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t i = 0; i + batch_size <= n; i += batch_size) {  // drop the ragged tail
    if (max_batches > 0 && batches >= max_batches) break;
    const auto idx = index.slice(0, i, i + batch_size);
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(
        net->forward(train.images.index_select(0, idx)), train.labels.index_select(0, idx));
    loss.backward();
    opt.step();
    loss_sum += loss.template item<double>();
    ++batches;
  }
  const auto t1 = std::chrono::steady_clock::now();
  return {loss_sum / static_cast<double>(std::max<std::int64_t>(batches, 1)),
          std::chrono::duration<double>(t1 - t0).count()};
}

// The calibration of the DATE'25 recipe: one pass of training-mode forwards (no gradients)
// over `train` (at most max_batches batches when > 0), which sets every activation range (EMA,
// momentum 0.1) and re-estimates every BatchNorm's statistics as exact averages over the pass.
template <class Module>
void calibrate(Module& net, const dataset& train, std::int64_t max_batches = 0) {
  torch::NoGradGuard no_grad;
  net->train();
  if constexpr (requires { net->batch_norms(); })
    for (auto& bn : net->batch_norms()) {
      bn->options.momentum(c10::nullopt);  // cumulative average over the pass
      bn->reset_running_stats();
    }
  std::int64_t batches = 0;
  for (std::int64_t i = 0; i + batch_size <= train.size(); i += batch_size) {
    if (max_batches > 0 && batches >= max_batches) break;
    net->forward(train.images.slice(0, i, i + batch_size));
    ++batches;
  }
  if constexpr (requires { net->batch_norms(); })
    for (auto& bn : net->batch_norms()) bn->options.momentum(0.1);
}

inline void set_lr(torch::optim::Adam& opt, double lr) {
  for (auto& group : opt.param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

// The paper's schedule scaled to `epochs`: the lr is halved at one third and at two thirds.
inline double lr_at(double lr, int epochs, int epoch) {
  const int halvings = std::min(2, (3 * epoch) / std::max(1, epochs));
  return lr / static_cast<double>(1 << halvings);
}

}  // namespace retrain
