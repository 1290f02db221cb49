#pragma once
// Affine quantization around the AppMult (DATE'25 Eq. 7-8):
//     q = clamp(round(x / s) + Z, min_value, max_value),      x_hat = s (q - Z)
// q is an operand *value*; the code handed to kernels is q - min_value. Unsigned operands use a
// zero point (the `affine` mapping); signed operands may also use `symmetric` (Z = 0).
//
// Rounding follows PyTorch's fake-quant kernels (nearbyint(x * (1/s)) + Z, half to even), so
// the exact multiplier reproduces torch's fake-quant bit for bit. The quantizer's own gradient
// is, by default, the clipping straight-through estimator: dq/dx = 1/s where q was not clamped,
// else 0; quantizer_backward<E, Operand> takes any estimator of quant/estimators.hpp.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/operand.hpp"
#include "amgrad/quant/estimators.hpp"

namespace amgrad::quant {

enum class mapping {
  affine,     // s = (hi - lo) / (2^B - 1), Z puts lo at the smallest code; [lo, hi] holds 0
  symmetric,  // s = max(|lo|, |hi|) / max_value, Z = 0; signed operands only
};

// Smallest scale made from a range: a constant tensor still gets a usable quantizer.
inline constexpr float min_scale = 1e-8f;

// Scale and zero point of one tensor: one pair (per tensor) or one per channel. Zero points are
// operand values, so ranges are checked against the operand they are used with.
struct params {
  std::vector<float> scale;
  std::vector<int> zero_point;

  std::size_t channels() const { return scale.size(); }
  float scale_of(std::size_t c) const { return scale[scale.size() == 1 ? 0 : c]; }
  int zero_point_of(std::size_t c) const { return zero_point[zero_point.size() == 1 ? 0 : c]; }
};

// Validates params for `Operand`; `channels` is the channel count the caller needs (a per-tensor
// params, with one entry, fits any count).
template <class Operand>
void validate(const params& p, std::size_t channels, const char* where) {
  amgrad::require(!p.scale.empty() && p.scale.size() == p.zero_point.size(), where,
                  "params need as many zero points as scales (got ", p.scale.size(), " scales, ",
                  p.zero_point.size(), " zero points)");
  amgrad::require(p.scale.size() == 1 || p.scale.size() == channels, where, "params have ",
                  p.scale.size(), " channels but the tensor has ", channels);
  for (std::size_t c = 0; c < p.scale.size(); ++c) {
    amgrad::require(std::isfinite(p.scale[c]) && p.scale[c] > 0.0f, where, "scale[", c, "] = ",
                    p.scale[c], " must be finite and positive");
    amgrad::require(Operand::format.contains_value(p.zero_point[c]), where, "zero point[", c,
                    "] = ", p.zero_point[c], " is outside the ", to_string(Operand::format),
                    " value range");
  }
}

// Params from given scales and zero points (validated).
template <class Operand>
params make_params(std::vector<float> scale, std::vector<int> zero_point) {
  params p{std::move(scale), std::move(zero_point)};
  validate<Operand>(p, p.scale.size(), "amgrad::quant::make_params");
  return p;
}

template <class Operand>
params make_params(float scale, int zero_point = 0) {
  return make_params<Operand>(std::vector<float>{scale}, std::vector<int>{zero_point});
}

}  // namespace amgrad::quant

namespace amgrad::detail {

template <class Operand>
std::pair<float, int> from_range(float lo, float hi, quant::mapping m, const char* where) {
  amgrad::require(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, where,
                          "range [", lo, ", ", hi, "] is not a finite interval");
  lo = std::min(lo, 0.0f);  // zero must be exact: padding and ReLU zeros rely on it
  hi = std::max(hi, 0.0f);
  if (m == quant::mapping::symmetric) {
    amgrad::require(Operand::is_signed, where,
                            "the symmetric mapping needs a signed operand, got ",
                            to_string(Operand::format));
    const float s = std::max(std::max(-lo, hi) / static_cast<float>(Operand::max_value), quant::min_scale);
    return {s, 0};
  }
  const float s = std::max((hi - lo) / static_cast<float>(Operand::size - 1), quant::min_scale);
  const auto z = static_cast<long>(Operand::min_value) - std::lround(lo / s);
  return {s, static_cast<int>(std::clamp<long>(z, Operand::min_value, Operand::max_value))};
}

}  // namespace amgrad::detail

namespace amgrad::quant {

// Per-tensor params from a range [lo, hi] (widened to hold 0).
template <class Operand>
params from_range(float lo, float hi, mapping m = mapping::affine) {
  const auto [s, z] = detail::from_range<Operand>(lo, hi, m, "amgrad::quant::from_range");
  return params{{s}, {z}};
}

// Per-channel params from one range per channel.
template <class Operand>
params from_ranges(std::span<const float> lo, std::span<const float> hi,
                   mapping m = mapping::affine) {
  constexpr const char* where = "amgrad::quant::from_ranges";
  amgrad::require(lo.size() == hi.size() && !lo.empty(), where, "got ", lo.size(),
                          " minima and ", hi.size(), " maxima");
  params p;
  for (std::size_t c = 0; c < lo.size(); ++c) {
    const auto [s, z] = detail::from_range<Operand>(lo[c], hi[c], m, where);
    p.scale.push_back(s);
    p.zero_point.push_back(z);
  }
  return p;
}

struct range {
  float lo = 0, hi = 0;
};

// Min and max of x; NaN or infinite entries throw.
inline range tensor_range(std::span<const float> x) {
  amgrad::require(!x.empty(), "amgrad::quant::tensor_range", "empty tensor");
  range r{x[0], x[0]};
  for (float v : x) {
    amgrad::require(std::isfinite(v), "amgrad::quant::tensor_range",
                            "non-finite value ", v);
    r.lo = std::min(r.lo, v);
    r.hi = std::max(r.hi, v);
  }
  return r;
}

// Per-channel params straight from a channel-major tensor x[channels][x.size() / channels]
// (the layout of conv and linear weights, output channel first).
template <class Operand>
params from_channels(std::span<const float> x, std::size_t channels, mapping m = mapping::affine) {
  amgrad::require(channels > 0 && x.size() % channels == 0 && !x.empty(),
                          "amgrad::quant::from_channels", "a tensor of ", x.size(),
                          " values does not split into ", channels, " channels");
  const std::size_t inner = x.size() / channels;
  std::vector<float> lo(channels), hi(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    const auto r = tensor_range(x.subspan(c * inner, inner));
    lo[c] = r.lo;
    hi[c] = r.hi;
  }
  return from_ranges<Operand>(lo, hi, m);
}

// One value: q = clamp(nearbyint(x * (1/s)) + Z); `inside` says whether q was not clamped.
template <class Operand>
inline int quantize_value(float x, float inv_scale, int zero_point, bool& inside) {
  const float q = std::nearbyint(x * inv_scale) + static_cast<float>(zero_point);
  inside = q >= static_cast<float>(Operand::min_value) && q <= static_cast<float>(Operand::max_value);
  if (!inside) return q < static_cast<float>(Operand::min_value) ? Operand::min_value : Operand::max_value;
  return static_cast<int>(q);
}

// The code type of an operand policy: its own code_type where it declares one (the wide operands'
// uint16_t), else code_t.
template <class Operand>
struct code_type_of {
  using type = code_t;
};
template <class Operand>
  requires requires { typename Operand::code_type; }
struct code_type_of<Operand> {
  using type = typename Operand::code_type;
};

// A quantized channel-major tensor: codes (value - min_value) and the clipping-STE mask.
template <class Code>
struct basic_quantized {
  std::vector<Code> codes;
  std::vector<std::uint8_t> inside;  // 1 where the value was not clamped
  params p;
};
using quantized = basic_quantized<code_t>;

// Quantizes x[channels][inner]; per-tensor params apply to every channel. NaN throws.
template <class Operand>
basic_quantized<typename code_type_of<Operand>::type> quantize(std::span<const float> x,
                                                               const params& p,
                                                               std::size_t channels = 1) {
  using code = typename code_type_of<Operand>::type;
  constexpr const char* where = "amgrad::quant::quantize";
  amgrad::require(channels > 0 && x.size() % channels == 0, where, "a tensor of ",
                          x.size(), " values does not split into ", channels, " channels");
  validate<Operand>(p, channels, where);
  basic_quantized<code> out{std::vector<code>(x.size()), std::vector<std::uint8_t>(x.size()), p};
  const std::size_t inner = x.size() / channels;
  for (std::size_t c = 0; c < channels; ++c) {
    const float inv = 1.0f / p.scale_of(c);
    const int z = p.zero_point_of(c);
    for (std::size_t i = c * inner; i < (c + 1) * inner; ++i) {
      amgrad::require(!std::isnan(x[i]), where, "NaN at index ", i);
      bool inside = false;
      out.codes[i] = static_cast<code>(Operand::code(quantize_value<Operand>(x[i], inv, z, inside)));
      out.inside[i] = inside;
    }
  }
  return out;
}

// x_hat = s (q - Z) for a channel-major tensor of codes.
template <class Operand>
std::vector<float> dequantize(std::span<const code_t> codes, const params& p,
                              std::size_t channels = 1) {
  constexpr const char* where = "amgrad::quant::dequantize";
  amgrad::require(channels > 0 && codes.size() % channels == 0, where, "a tensor of ",
                          codes.size(), " codes does not split into ", channels, " channels");
  validate<Operand>(p, channels, where);
  std::vector<float> out(codes.size());
  const std::size_t inner = codes.size() / channels;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const std::size_t c = i / inner;
    out[i] = p.scale_of(c) * static_cast<float>(Operand::value(codes[i]) - p.zero_point_of(c));
  }
  return out;
}

// Clipping STE of the quantizer: dx = dq * (1/s) where inside, else 0. `dq` is the gradient with
// respect to the integer value q, in the channel-major layout of the quantized tensor.
inline void quantizer_backward(std::span<const float> dq, const quantized& q, std::size_t channels,
                               std::span<float> dx) {
  constexpr const char* where = "amgrad::quant::quantizer_backward";
  amgrad::require(dq.size() == q.inside.size() && dx.size() == q.inside.size(), where,
                          "gradient sizes ", dq.size(), " and ", dx.size(), " differ from the ",
                          q.inside.size(), " quantized values");
  amgrad::require(channels > 0 && dq.size() % channels == 0 &&
                              (q.p.channels() == 1 || q.p.channels() == channels),
                          where, "channel count ", channels, " does not fit the params");
  const std::size_t inner = dq.size() / channels;
  for (std::size_t i = 0; i < dq.size(); ++i)
    dx[i] = q.inside[i] ? dq[i] / q.p.scale_of(i / inner) : 0.0f;
}

// The quantizer's backward through estimator E (estimators.hpp): dx = dq * Q̂'(v) / s with
// v = x/s + Z; a clipped estimator is zero where q was clamped. E = pwl is the function above.
template <quantizer_estimator E, class Operand>
void quantizer_backward(std::span<const float> dq, const quantized& q, std::size_t channels,
                        std::span<const float> x, std::span<float> dx, const E& e = E{}) {
  constexpr const char* where = "amgrad::quant::quantizer_backward";
  amgrad::require(x.size() == q.inside.size(), where, "x has ", x.size(), " values, the ",
                  "quantized tensor ", q.inside.size());
  if constexpr (std::is_same_v<E, pwl>) {
    quantizer_backward(dq, q, channels, dx);
  } else {
    quantizer_backward(dq, q, channels, dx);  // validates the sizes
    const std::size_t inner = dq.size() / channels;
    for (std::size_t i = 0; i < dq.size(); ++i) {
      const std::size_t c = i / inner;
      const float s = q.p.scale_of(c);
      const int z = q.p.zero_point_of(c);
      if (E::clipped && !q.inside[i]) {
        dx[i] = 0.0f;
        continue;
      }
      const float v = x[i] * (1.0f / s) + static_cast<float>(z);
      dx[i] = static_cast<float>(
          dq[i] * detail::estimator_derivative(e, v, Operand::min_value, Operand::max_value, z) /
          s);
    }
  }
}

}  // namespace amgrad::quant
