#pragma once
// Estimators for the affine quantizer's own derivative ("quantizer estimators", paper
// "Custom gradient estimators are STE in disguise", section 2 and appendix B). They are not the
// AppMult gradient *schemes* (amgrad::ste, amgrad::lut2d ...): those estimate dAM/da; these
// estimate dq/dx of the quantizer q = clamp(round(x/s) + Z).
//
// Every policy works in code units: v = x/s + Z is the quantizer's input before rounding, one
// bin is 1 wide, the boundary points are the half-integers, and [lo, hi] is the operand's value
// range, so the quantizer's window (the values q = round(v) does not clamp) is
// [lo - 1/2, hi + 1/2]. A policy gives
//     static double derivative(double v, double lo, double hi)   Q̂'(v), dimensionless
//     static double surrogate(double v, double lo, double hi)    Q̂(v), where defined
//     static constexpr bool clipped     true: Q̂' = 0 outside the window (the ops then use the
//                                        quantizer's `inside` mask, bit for bit today's mask)
//     static constexpr bool cyclical    Q̂' has period 1 inside the window (Eq. 4 applies)
// and the weight gradient is dx = dq * Q̂'(v) / s.
//
//   ste       Q̂(v) = v, Q̂' = 1 everywhere (no clipping)
//   pwl       Q̂(v) = clamp(v, lo-1/2, hi+1/2), Q̂' = 1 in the window: today's behaviour
//   htge<t>   Pei et al. 2023: round replaced by H(v) = m + tanh(t (v - m)) / 2 with
//             m = (floor v + ceil v) / 2; Q̂' = (t/2) sech²(t (v - m)) in the window, 0 out.
//             t is the sharpness in code units (per bin). H jumps at the integers (as written
//             in the paper's appendix B); Q̂' is continuous and cyclical.
//   htge_runtime  the same with t a run-time value (checked on construction), for the choices
//             made at run time (estimator_choice: the LibTorch modules, the Python package).
//   mad       Sakr et al. 2022: Q̂' = 1 in the window, c / |v - Z| outside, c the distance from
//             Z to the window edge on that side (the clipping magnitude); Q̂ continuous.
//   ede       Qin et al. 2020 (binary, sign quantizer): Q̂(x) = k tanh(t x),
//             Q̂' = k t (1 - tanh²(t x)), t = t_min 10^(p log10(t_max/t_min)), k = max(1/t, 1),
//             p in [0, 1] the training progress. Runtime state; not for the multi-bit ops.
#include <algorithm>
#include <cmath>
#include <concepts>
#include <string>
#include <utility>
#include <variant>

#include "amgrad/error.hpp"

namespace amgrad::quant {

// Contract of a multi-bit quantizer estimator (see the header comment). derivative and surrogate
// are called on an object (static members qualify), so an estimator may carry run-time
// parameters (htge_runtime).
template <class E>
concept quantizer_estimator = requires(const E& e, double v, double lo, double hi) {
  { e.derivative(v, lo, hi) } -> std::convertible_to<double>;
  { E::clipped } -> std::convertible_to<bool>;
  { E::cyclical } -> std::convertible_to<bool>;
  { E::name } -> std::convertible_to<const char*>;
};

// An estimator that also defines its surrogate Q̂.
template <class E>
concept quantizer_surrogate =
    quantizer_estimator<E> && requires(const E& e, double v, double lo, double hi) {
      { e.surrogate(v, lo, hi) } -> std::convertible_to<double>;
    };

// True when v is in the window [lo - 1/2, hi + 1/2].
constexpr bool in_window(double v, double lo, double hi) { return v >= lo - 0.5 && v <= hi + 0.5; }

struct ste {
  static constexpr const char* name = "ste";
  static constexpr bool clipped = false, cyclical = true;
  static constexpr double derivative(double, double, double) { return 1.0; }
  static constexpr double surrogate(double v, double, double) { return v; }
};

struct pwl {
  static constexpr const char* name = "pwl";
  static constexpr bool clipped = true, cyclical = true;
  static constexpr double derivative(double v, double lo, double hi) {
    return in_window(v, lo, hi) ? 1.0 : 0.0;
  }
  static constexpr double surrogate(double v, double lo, double hi) {
    return std::clamp(v, lo - 0.5, hi + 0.5);
  }
};

}  // namespace amgrad::quant

namespace amgrad::detail {

// HTGE's Q̂' and Q̂ for sharpness t (shared by htge<t> and htge_runtime). The tanh is centred on
// the boundary point (a half-integer) of the unit interval holding v.
inline double htge_center(double v) { return std::floor(v) + 0.5; }
inline double htge_derivative(double t, double v, double lo, double hi) {
  if (!quant::in_window(v, lo, hi)) return 0.0;
  const double c = std::cosh(t * (v - htge_center(v)));
  return 0.5 * t / (c * c);
}
inline double htge_surrogate(double t, double v, double lo, double hi) {
  const double u = std::clamp(v, lo - 0.5, hi + 0.5);
  const double m = htge_center(u);
  return m + 0.5 * std::tanh(t * (u - m));
}

}  // namespace amgrad::detail

namespace amgrad::quant {

// Above 40, 1/Q̂' at a bin centre (cosh²(t/2)) leaves what α's quadrature resolves in double.
inline constexpr double htge_max_sharpness = 40.0;

template <double T>
struct htge {
  static_assert(T > 0.0 && T <= htge_max_sharpness, "htge<t>: the sharpness t must be in (0, 40]");
  static constexpr const char* name = "htge";
  static constexpr double sharpness = T;
  static constexpr bool clipped = true, cyclical = true;
  static double derivative(double v, double lo, double hi) {
    return detail::htge_derivative(T, v, lo, hi);
  }
  static double surrogate(double v, double lo, double hi) {
    return detail::htge_surrogate(T, v, lo, hi);
  }
};

// htge with the sharpness chosen at run time; throws amgrad::error outside (0, 40].
struct htge_runtime {
  static constexpr const char* name = "htge";
  static constexpr bool clipped = true, cyclical = true;
  double sharpness;

  explicit htge_runtime(double t) : sharpness(t) {
    amgrad::require(t > 0.0 && t <= htge_max_sharpness, "amgrad::quant::htge",
                    "the sharpness t must be in (0, ", htge_max_sharpness, "] (code units, per ",
                    "bin), got ", t);
  }
  double derivative(double v, double lo, double hi) const {
    return detail::htge_derivative(sharpness, v, lo, hi);
  }
  double surrogate(double v, double lo, double hi) const {
    return detail::htge_surrogate(sharpness, v, lo, hi);
  }
};

struct mad {
  static constexpr const char* name = "mad";
  static constexpr bool clipped = false, cyclical = true;  // cyclical inside the window
  // The zero point Z is not part of the (v, lo, hi) signature: MAD measures magnitudes from the
  // window's center, which is Z for the symmetric mapping. Use mad_at for another Z.
  static double derivative(double v, double lo, double hi) {
    return derivative_at(v, lo, hi, 0.5 * (lo + hi));
  }
  static double surrogate(double v, double lo, double hi) {
    return surrogate_at(v, lo, hi, 0.5 * (lo + hi));
  }
  static double derivative_at(double v, double lo, double hi, double z) {
    if (in_window(v, lo, hi)) return 1.0;
    const double edge = v > hi ? hi + 0.5 : lo - 0.5;
    const double c = std::abs(edge - z);
    if (c <= 0.0) return 1.0 / (1.0 + std::abs(v - edge));  // degenerate: Z on the edge
    return c / std::abs(v - z);
  }
  static double surrogate_at(double v, double lo, double hi, double z) {
    if (in_window(v, lo, hi)) return v;
    const double edge = v > hi ? hi + 0.5 : lo - 0.5;
    const double side = v > hi ? 1.0 : -1.0;
    const double c = std::abs(edge - z);
    if (c <= 0.0) return edge + side * std::log1p(std::abs(v - edge));
    return z + side * c * (1.0 + std::log(std::abs(v - z) / c));
  }
};

// Error-decay estimator for a binary (sign) quantizer; runtime schedule.
struct ede {
  static constexpr const char* name = "ede";
  double t_min = 0.1, t_max = 10.0;
  double progress = 0.0;  // fraction of training done, [0, 1]

  double t() const {
    amgrad::require(t_min > 0 && t_max >= t_min && progress >= 0 && progress <= 1,
                    "amgrad::quant::ede", "needs 0 < t_min <= t_max and progress in [0, 1], got ",
                    t_min, ", ", t_max, ", ", progress);
    return t_min * std::pow(10.0, progress * std::log10(t_max / t_min));
  }
  double k() const { return std::max(1.0 / t(), 1.0); }
  double derivative(double x) const {
    const double tt = t(), th = std::tanh(tt * x);
    return k() * tt * (1.0 - th * th);
  }
  double surrogate(double x) const { return k() * std::tanh(t() * x); }
};

static_assert(quantizer_surrogate<ste>, "ste must model quantizer_surrogate");
static_assert(quantizer_surrogate<pwl>, "pwl must model quantizer_surrogate");
static_assert(quantizer_surrogate<htge<2.0>>, "htge must model quantizer_surrogate");
static_assert(quantizer_surrogate<mad>, "mad must model quantizer_surrogate");
static_assert(quantizer_surrogate<htge_runtime>, "htge_runtime must model quantizer_surrogate");

// ---- an estimator chosen at run time -------------------------------------------------------
// The multi-bit estimators as one value, for the layers that pick their configuration at run
// time (amgrad::nn modules, the Python package); with_estimators turns it back into the ops'
// compile-time policies, once per call.
using estimator_choice = std::variant<pwl, ste, htge_runtime, mad>;

// The estimator of the weights' and of the activations' quantizer. Default: pwl for both, the
// clipping STE (the behaviour before estimators existed).
struct estimator_pair {
  estimator_choice weight = pwl{};
  estimator_choice activation = pwl{};
};

// "pwl", "htge(t=5.5)" ...
inline std::string to_string(const estimator_choice& e) {
  return std::visit(
      [](const auto& x) -> std::string {
        if constexpr (requires { x.sharpness; })
          return amgrad::concat(x.name, "(t=", x.sharpness, ")");
        else
          return x.name;
      },
      e);
}

// Calls f(weight_estimator, activation_estimator) with the alternatives held by `p`.
template <class F>
decltype(auto) with_estimators(const estimator_pair& p, F&& f) {
  return std::visit(std::forward<F>(f), p.weight, p.activation);
}

}  // namespace amgrad::quant

namespace amgrad::detail {

// Q̂'(v) for an estimator, with the zero point where the estimator uses it (mad).
template <class E>
double estimator_derivative(const E& e, double v, double lo, double hi, double z) {
  if constexpr (requires { e.derivative_at(v, lo, hi, z); })
    return e.derivative_at(v, lo, hi, z);
  else
    return e.derivative(v, lo, hi);
}
// Q̂(v), likewise.
template <class E>
double estimator_surrogate(const E& e, double v, double lo, double hi, double z) {
  if constexpr (requires { e.surrogate_at(v, lo, hi, z); })
    return e.surrogate_at(v, lo, hi, z);
  else
    return e.surrogate(v, lo, hi);
}

}  // namespace amgrad::detail
