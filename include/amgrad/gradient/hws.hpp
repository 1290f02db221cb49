#pragma once
// Half window size (HWS) for LUT-2D proposed from the table alone, without training.
//
// Criterion ("smallest smooth window"): for each HWS h of the ladder {1, 2, 4, ..., 64} that fits
// the table, take the LUT-2D gradient G_h (box smoothing, central difference; interior only) and
// its relative roughness
//
//     rho(h)^2 = sum w (G_h(x+1) - G_h(x))^2 / sum w G_h(x)^2      (along the differentiated
//                                                                    operand, every line)
//
// i.e. the RMS change of the gradient from one code to the next, relative to the RMS gradient:
// the stair artefacts the table's error leaves in the gradient. A wider window only adds bias
// (it moves the gradient away from the table's local slope), so the proposal is the SMALLEST h
// whose roughness is at most `max_roughness` (1/16 by default: the gradient changes by at most
// ~6% of its size per code step). The exact multiplier has rho = 0 and gets 1. See
// docs/hws-and-lowrank.md for the validation against published and trained choices.
//
// Optional operand distributions weight each entry (a, b) by p_a(a) p_b(b).
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad {

struct hws_options {
  double max_roughness = 1.0 / 16;  // bound on rho(h)
  int max_hws = 64;                 // top of the ladder (windows that do not fit are skipped)
  std::vector<double> weight_a;     // distribution of a's codes (empty: uniform)
  std::vector<double> weight_b;     // distribution of b's codes (empty: uniform)
};

// rho(h) of one ladder step, for dAM/da, dAM/db and both together.
struct hws_candidate {
  int hws = 0;
  double roughness_a = 0, roughness_b = 0, roughness = 0;
};

struct hws_proposal {
  int hws = 0;    // for both operands (from the roughness of both gradients together)
  int hws_a = 0;  // for dAM/da alone
  int hws_b = 0;  // for dAM/db alone
  std::vector<hws_candidate> ladder;
};

namespace detail {

struct roughness_sums {
  double rough = 0, energy = 0;
  double ratio() const { return energy > 0 ? std::sqrt(rough / energy) : 0.0; }
};

// Accumulates rho's sums for one line x (values along the differentiated operand), weights
// w_line(position) and a line weight.
inline void add_line_roughness(const std::vector<double>& x, int h, const std::vector<double>& w,
                               double line_weight, std::vector<double>& smooth,
                               std::vector<double>& grad, roughness_sums& s) {
  const int n = static_cast<int>(x.size());
  const double width = 2.0 * h + 1;
  double run = 0;
  for (int i = 0; i < 2 * h + 1; ++i) run += x[static_cast<std::size_t>(i)];
  for (int c = h; c <= n - 1 - h; ++c) {
    smooth[static_cast<std::size_t>(c)] = run / width;
    if (c + h + 1 < n) run += x[static_cast<std::size_t>(c + h + 1)] - x[static_cast<std::size_t>(c - h)];
  }
  for (int c = h + 1; c < n - 1 - h; ++c)
    grad[static_cast<std::size_t>(c)] =
        (smooth[static_cast<std::size_t>(c + 1)] - smooth[static_cast<std::size_t>(c - 1)]) / 2;
  for (int c = h + 1; c < n - 1 - h; ++c) {
    const double g = grad[static_cast<std::size_t>(c)];
    const double wc = line_weight * (w.empty() ? 1.0 : w[static_cast<std::size_t>(c)]);
    s.energy += wc * g * g;
    if (c > h + 1) {
      const double d = g - grad[static_cast<std::size_t>(c - 1)];
      s.rough += wc * d * d;
    }
  }
}

inline void require_weights(const std::vector<double>& w, int n, const char* which) {
  if (w.empty()) return;
  require(static_cast<int>(w.size()) == n, "amgrad::propose_hws", which, " has ", w.size(),
          " entries; the table has ", n, " codes per operand");
  double total = 0;
  for (double v : w) {
    require(std::isfinite(v) && v >= 0, "amgrad::propose_hws", which,
            " must be finite and non-negative");
    total += v;
  }
  require(total > 0, "amgrad::propose_hws", which, " must not be all zero");
}

}  // namespace detail

// The roughness of every ladder step, and the proposal. Throws amgrad::error for bad options.
inline hws_proposal propose_hws(const product_table& lut, const hws_options& opt = {}) {
  constexpr const char* where = "amgrad::propose_hws";
  require(std::isfinite(opt.max_roughness) && opt.max_roughness > 0, where,
          "max_roughness must be positive, got ", opt.max_roughness);
  require(opt.max_hws >= 1, where, "max_hws must be >= 1, got ", opt.max_hws);
  const int n = lut.side();
  detail::require_weights(opt.weight_a, n, "weight_a");
  detail::require_weights(opt.weight_b, n, "weight_b");
  require(n >= 8, where, "the table is too small (", n, " codes) to propose a window");

  hws_proposal out;
  std::vector<double> line(static_cast<std::size_t>(n)), smooth(line.size()), grad(line.size());
  // Windows must leave at least 3 interior positions to measure a step.
  for (int h = 1; h <= opt.max_hws && 2 * h + 5 <= n; h *= 2) {
    detail::roughness_sums sa, sb;
    for (int b = 0; b < n; ++b) {  // dAM/da: along a, for fixed b
      for (int a = 0; a < n; ++a) line[static_cast<std::size_t>(a)] = lut(a, b);
      const double wb = opt.weight_b.empty() ? 1.0 : opt.weight_b[static_cast<std::size_t>(b)];
      detail::add_line_roughness(line, h, opt.weight_a, wb, smooth, grad, sa);
    }
    for (int a = 0; a < n; ++a) {  // dAM/db: along b, for fixed a
      for (int b = 0; b < n; ++b) line[static_cast<std::size_t>(b)] = lut(a, b);
      const double wa = opt.weight_a.empty() ? 1.0 : opt.weight_a[static_cast<std::size_t>(a)];
      detail::add_line_roughness(line, h, opt.weight_b, wa, smooth, grad, sb);
    }
    const detail::roughness_sums both{sa.rough + sb.rough, sa.energy + sb.energy};
    out.ladder.push_back({h, sa.ratio(), sb.ratio(), both.ratio()});
  }
  require(!out.ladder.empty(), where, "no window of the ladder fits a ", n, "-code table");
  // The smallest window that meets the bound; the widest one measured if none does.
  const auto pick = [&](auto rho) {
    for (const auto& c : out.ladder)
      if (rho(c) <= opt.max_roughness) return c.hws;
    return out.ladder.back().hws;
  };
  out.hws = pick([](const hws_candidate& c) { return c.roughness; });
  out.hws_a = pick([](const hws_candidate& c) { return c.roughness_a; });
  out.hws_b = pick([](const hws_candidate& c) { return c.roughness_b; });
  return out;
}

}  // namespace amgrad
