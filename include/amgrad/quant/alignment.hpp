#pragma once
// The learning-rate factor α and the weight re-map M of a quantizer estimator (paper Eq. 4),
// and the alignment metrics of its section 6 (Eq. 5 normalised, quantized weight agreement).
//
// In code units (bin width Δ = 1, boundary points at the half-integers, see estimators.hpp):
//     α    = 1 / ∫_{b}^{b+1} ds / Q̂'(s)           b any boundary point in the window
//     M(v) = b + α ∫_{b}^{v} ds / Q̂'(s)            b the boundary point at or below v (in the
//                                                   window), the window edge (outside it)
// α is dimensionless, so it is the same in weight units; M in weight units is
// s (M(w/s + Z) - Z). Outside the window a clipped estimator has Q̂' = 0 and M is undefined;
// there M is the identity (M keeps the window's edges, which are boundary points, so a weight
// trapped outside stays trapped on the other side of the mirror). α = 1 and M = identity for
// ste and pwl.
//
// Quadrature: adaptive Simpson on each integral (8 starting panels, depth <= 30), stopped per
// panel when |S2 - S1| <= 15 tol (tol halved on each split; tol is absolute, times the
// integral's rough size where that exceeds 1); the returned error estimate is Σ |S2 - S1| / 15 (Richardson),
// which is the error of the extrapolated sum for integrands with a bounded 6th derivative.
// The tests check it against the closed forms of htge (α = t² / (t + sinh t)) to 1e-10.
#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/operand.hpp"
#include "amgrad/quant/affine.hpp"
#include "amgrad/quant/estimators.hpp"

namespace amgrad::quant {

struct integral {
  double value = 0;
  double error = 0;  // Richardson estimate of |value - exact|
};

}  // namespace amgrad::quant

namespace amgrad::detail {

template <class F>
double simpson_step(F& f, double a, double b, double fa, double fm, double fb, double whole,
                    double tol, int depth, double& err) {
  const double m = 0.5 * (a + b), lm = 0.5 * (a + m), rm = 0.5 * (m + b);
  const double flm = f(lm), frm = f(rm);
  const double left = (m - a) / 6 * (fa + 4 * flm + fm), right = (b - m) / 6 * (fm + 4 * frm + fb);
  const double delta = left + right - whole;
  if (depth <= 0 || std::abs(delta) <= 15 * tol) {
    err += std::abs(delta) / 15;
    return left + right + delta / 15;
  }
  return simpson_step(f, a, m, fa, flm, fm, left, tol / 2, depth - 1, err) +
         simpson_step(f, m, b, fm, frm, fb, right, tol / 2, depth - 1, err);
}

}  // namespace amgrad::detail

namespace amgrad::quant {

// ∫_a^b f by adaptive Simpson to an absolute tolerance `tol` (a > b gives the negative).
template <class F>
integral integrate(F&& f, double a, double b, double tol = 1e-12) {
  amgrad::require(std::isfinite(a) && std::isfinite(b) && tol > 0, "amgrad::quant::integrate",
                  "needs finite bounds and a positive tolerance, got [", a, ", ", b, "], ", tol);
  if (a == b) return {};
  const double sign = a < b ? 1.0 : -1.0;
  if (a > b) std::swap(a, b);
  const double fa = f(a), fb = f(b);
  // The tolerance is relative to a coarse estimate of the integral's size when that exceeds 1
  // (1/Q̂' of a sharp htge reaches 1e17).
  double coarse = 0;
  for (int i = 0; i <= 16; ++i) coarse += std::abs(f(a + (b - a) * i / 16.0));
  tol *= std::max(1.0, coarse * (b - a) / 17.0);
  integral r;
  // Start from 8 panels so a peaked integrand is not accepted on 3 samples.
  const double h = (b - a) / 8;
  for (int i = 0; i < 8; ++i) {
    const double x0 = a + i * h, x1 = x0 + h, xm = x0 + h / 2;
    const double f0 = i == 0 ? fa : f(x0), f1 = i == 7 ? fb : f(x1), fmid = f(xm);
    const double whole = h / 6 * (f0 + 4 * fmid + f1);
    r.value += detail::simpson_step(f, x0, x1, f0, fmid, f1, whole, tol / 8, 30, r.error);
  }
  r.value *= sign;
  return r;
}

// α of an estimator on the code range [lo, hi] with zero point z (Eq. 4), with its quadrature
// error. Throws when Q̂' is not positive on the bin.
template <quantizer_estimator E>
integral alpha(const E& e, double lo, double hi, double z = 0.0, double tol = 1e-13) {
  constexpr const char* where = "amgrad::quant::alpha";
  amgrad::require(lo < hi, where, "needs lo < hi, got ", lo, ", ", hi);
  const double b = lo - 0.5;  // first boundary point of the window
  for (int i = 0; i <= 16; ++i) {
    const double d = detail::estimator_derivative(e, b + i / 16.0, lo, hi, z);
    amgrad::require(d > 0 && std::isfinite(d), where, E::name, ": Q̂'(", b + i / 16.0, ") = ", d,
                    " is not positive; α needs a positive estimator on the bin");
  }
  const auto inv = integrate(
      [&](double s) { return 1.0 / detail::estimator_derivative(e, s, lo, hi, z); }, b, b + 1, tol);
  return {1.0 / inv.value, inv.error / (inv.value * inv.value)};
}
template <quantizer_estimator E>
  requires std::default_initializable<E>
integral alpha(double lo, double hi, double z = 0.0, double tol = 1e-13) {
  return alpha(E{}, lo, hi, z, tol);
}

// M(v) in code units (see the header comment), given α of the same estimator.
template <quantizer_estimator E>
double remap_code(const E& e, double v, double lo, double hi, double z, double alpha_value,
                  double tol = 1e-12) {
  const double left = lo - 0.5, right = hi + 0.5;
  double b;
  if (v >= left && v <= right) {
    b = std::floor(v - 0.5) + 0.5;  // boundary point at or below v
  } else if constexpr (E::clipped) {
    return v;
  } else {
    b = v > right ? right : left;
  }
  if (v == b) return b;
  const auto r = integrate(
      [&](double s) { return 1.0 / detail::estimator_derivative(e, s, lo, hi, z); }, b, v, tol);
  return b + alpha_value * r.value;
}
template <quantizer_estimator E>
  requires std::default_initializable<E>
double remap_code(double v, double lo, double hi, double z, double alpha_value,
                  double tol = 1e-12) {
  return remap_code(E{}, v, lo, hi, z, alpha_value, tol);
}

// M applied to a channel-major tensor of weights in weight units, w[channels][inner], with the
// quantizer's params (per tensor or per channel) for `Operand`. α is computed per channel.
template <class Operand, quantizer_estimator E>
std::vector<float> remap(const E& e, std::span<const float> w, const params& p,
                         std::size_t channels = 1) {
  constexpr const char* where = "amgrad::quant::remap";
  amgrad::require(channels > 0 && w.size() % channels == 0, where, "a tensor of ", w.size(),
                  " values does not split into ", channels, " channels");
  validate<Operand>(p, channels, where);
  const double lo = Operand::min_value, hi = Operand::max_value;
  std::vector<float> out(w.size());
  const std::size_t inner = w.size() / channels;
  for (std::size_t c = 0; c < channels; ++c) {
    const double s = p.scale_of(c), z = p.zero_point_of(c);
    const double a = alpha(e, lo, hi, z).value;
    for (std::size_t i = c * inner; i < (c + 1) * inner; ++i) {
      amgrad::require(std::isfinite(w[i]), where, "non-finite weight at index ", i);
      const double v = static_cast<double>(w[i]) / s + z;
      out[i] = static_cast<float>(s * (remap_code(e, v, lo, hi, z, a) - z));
    }
  }
  return out;
}
template <quantizer_estimator E, class Operand>
  requires std::default_initializable<E>
std::vector<float> remap(std::span<const float> w, const params& p, std::size_t channels = 1) {
  return remap<Operand>(E{}, w, p, channels);
}

// Normalised weight alignment error Ē (section 6.2): mean |a - b| / range_length, a = M(w_Q̂)
// for SGD pairs, w_Q̂ for Adam pairs; b = w_STE. As a fraction (0.01 = 1%).
inline double alignment_error(std::span<const float> a, std::span<const float> b,
                              double range_length) {
  constexpr const char* where = "amgrad::quant::alignment_error";
  amgrad::require(a.size() == b.size() && !a.empty(), where, "sizes ", a.size(), " and ",
                  b.size(), " must match and be non-zero");
  amgrad::require(range_length > 0 && std::isfinite(range_length), where,
                  "the range length must be positive, got ", range_length);
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::abs(double(a[i]) - double(b[i]));
  return sum / double(a.size()) / range_length;
}

// Ē with per-channel normalisation by the representable range s (hi - lo) of `Operand`.
template <class Operand>
double alignment_error(std::span<const float> a, std::span<const float> b, const params& p,
                       std::size_t channels = 1) {
  constexpr const char* where = "amgrad::quant::alignment_error";
  amgrad::require(a.size() == b.size() && !a.empty() && a.size() % channels == 0, where,
                  "sizes ", a.size(), " and ", b.size(), " must match and split into ", channels,
                  " channels");
  validate<Operand>(p, channels, where);
  const std::size_t inner = a.size() / channels;
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double len = double(p.scale_of(i / inner)) * (Operand::max_value - Operand::min_value);
    sum += std::abs(double(a[i]) - double(b[i])) / len;
  }
  return sum / double(a.size());
}

// Quantized weight agreement: the fraction of equal codes.
inline double weight_agreement(std::span<const code_t> a, std::span<const code_t> b) {
  amgrad::require(a.size() == b.size() && !a.empty(), "amgrad::quant::weight_agreement",
                  "sizes ", a.size(), " and ", b.size(), " must match and be non-zero");
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return double(same) / double(a.size());
}

// Agreement of two float weight tensors quantized with the same params.
template <class Operand>
double weight_agreement(std::span<const float> a, std::span<const float> b, const params& p,
                        std::size_t channels = 1) {
  const auto qa = quantize<Operand>(a, p, channels), qb = quantize<Operand>(b, p, channels);
  return weight_agreement(qa.codes, qb.codes);
}

}  // namespace amgrad::quant
