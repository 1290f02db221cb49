#pragma once
// LUT-2D for wide operands without a 2^B x 2^B table: Eq. 4-6 (box smoothing of half width
// HWS along a line, central difference, Eq. 6's (max - min)/2^B at the boundary) applied to a
// coarse G x G sampling of the domain (G = 256: codes i*s + s/2, s = 2^B / G), with the window
// scaled to HWS/s samples and the difference divided by s, then bilinearly interpolated at any
// code pair. Default HWS: amgrad::default_hws(B) = 2^(B-3), i.e. 32 coarse samples, the
// published 8-bit setting. lut2d_exact_bits is the full-resolution reference for widths whose
// table fits memory (2^24 entries at 12 bits), double-precision prefix sums.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/wide/multiply.hpp"
#include "amgrad/wide/operand.hpp"

namespace amgrad::wide {

namespace detail {

// Eq. 4-6 on one line of n samples spaced `step` codes apart; derivative per code.
inline void line_derivative(const std::vector<double>& y, int h, double step, float* out) {
  const int n = static_cast<int>(y.size());
  std::vector<double> prefix(static_cast<std::size_t>(n) + 1, 0.0);
  for (int i = 0; i < n; ++i) prefix[static_cast<std::size_t>(i) + 1] = prefix[static_cast<std::size_t>(i)] + y[static_cast<std::size_t>(i)];
  const auto smooth = [&](int x) {
    return (prefix[static_cast<std::size_t>(x + h + 1)] - prefix[static_cast<std::size_t>(x - h)]) / (2 * h + 1);
  };
  const auto [lo, hi] = std::minmax_element(y.begin(), y.end());
  const double magnitude = (*hi - *lo) / (static_cast<double>(n) * step);
  const double edge = y.back() < y.front() ? -magnitude : magnitude;
  for (int x = 0; x < n; ++x) {
    const bool interior = x > h && x < n - 1 - h;
    out[x] = static_cast<float>(interior ? (smooth(x + 1) - smooth(x - 1)) / (2 * step) : edge);
  }
}

template <class F>
void parallel_for(std::size_t n, unsigned threads, F&& f) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(n, 1)));
  const std::size_t chunk = (n + threads - 1) / threads;
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) {
    const std::size_t lo = t * chunk, hi = std::min(n, lo + chunk);
    if (lo < hi) pool.emplace_back([&f, lo, hi] { f(lo, hi); });
  }
  f(std::size_t{0}, std::min(n, chunk));
  for (auto& t : pool) t.join();
}

// da (along a) and db (along b) of a g x g sampled table `am` (row a), spacing `step` codes.
inline void grid_gradients(const std::vector<double>& am, int g, int h, double step,
                           std::vector<float>& da, std::vector<float>& db, unsigned threads) {
  const auto gs = static_cast<std::size_t>(g);
  da.assign(gs * gs, 0.0f);
  db.assign(gs * gs, 0.0f);
  parallel_for(gs, threads, [&](std::size_t lo, std::size_t hi) {
    std::vector<double> line(gs);
    std::vector<float> d(gs);
    for (std::size_t c = lo; c < hi; ++c) {
      for (std::size_t x = 0; x < gs; ++x) line[x] = am[x * gs + c];  // column b = c
      line_derivative(line, h, step, d.data());
      for (std::size_t x = 0; x < gs; ++x) da[x * gs + c] = d[x];
      for (std::size_t x = 0; x < gs; ++x) line[x] = am[c * gs + x];  // row a = c
      line_derivative(line, h, step, d.data());
      for (std::size_t x = 0; x < gs; ++x) db[c * gs + x] = d[x];
    }
  });
}

}  // namespace detail

struct coarse_gradients {
  int bits = 0, grid = 0, stride = 1, hws = 0;
  bool is_signed = false;
  std::vector<float> da, db;  // grid x grid, row a, column b (samples at code i*stride + stride/2)

  float da_at(int a_code, int b_code) const { return interpolate(da, a_code, b_code); }
  float db_at(int a_code, int b_code) const { return interpolate(db, a_code, b_code); }

  // Where a code falls on the grid: between samples index and index + 1, at weight (0..1) from
  // the first; codes outside the outer samples clamp to them. The gather kernels of
  // wide/engine.hpp interpolate with the same coordinates.
  struct axis_point {
    int index = 0;
    double weight = 0;
  };
  axis_point axis(int code) const {
    const double u = std::clamp((code - stride / 2) / static_cast<double>(stride), 0.0,
                                static_cast<double>(grid - 1));
    const int i0 = std::min(static_cast<int>(u), grid - 2 < 0 ? 0 : grid - 2);
    return {i0, u - i0};
  }

 private:
  float interpolate(const std::vector<float>& t, int a_code, int b_code) const {
    if (grid == 1) return t[0];
    const auto [i, wi] = axis(a_code);
    const auto [j, wj] = axis(b_code);
    const auto at = [&](int x, int y) {
      return static_cast<double>(t[static_cast<std::size_t>(x) * static_cast<std::size_t>(grid) + static_cast<std::size_t>(y)]);
    };
    return static_cast<float>((1 - wi) * ((1 - wj) * at(i, j) + wj * at(i, j + 1)) +
                              wi * ((1 - wj) * at(i + 1, j) + wj * at(i + 1, j + 1)));
  }
};

// hws: in codes of the full-resolution operand (auto_hws: default_hws(bits)).
template <class Model>
coarse_gradients lut2d_coarse_bits(const Model& model, int bits, bool is_signed, int hws = auto_hws,
                                   int grid = 256, unsigned threads = 0) {
  constexpr const char* where = "amgrad::wide::lut2d_coarse";
  amgrad::detail::require_in_range(where, "bit width", bits, 2, max_bits);
  const int n = 1 << bits;
  grid = std::min(grid, n);
  amgrad::require(grid >= 4 && (n % grid) == 0 && (grid & (grid - 1)) == 0, where, "grid ", grid,
                  " must be a power of two, at least 4");
  coarse_gradients out;
  out.bits = bits;
  out.grid = grid;
  out.stride = n / grid;
  out.is_signed = is_signed;
  out.hws = hws == auto_hws ? default_hws(bits) : hws;
  const int h = std::max(1, static_cast<int>(std::lround(static_cast<double>(out.hws) / out.stride)));
  amgrad::require(2 * h + 1 <= grid, where, "half window ", out.hws, " (", h,
                  " samples) does not fit a grid of ", grid);
  const int min_value = is_signed ? -(1 << (bits - 1)) : 0;
  const auto gs = static_cast<std::size_t>(grid);
  std::vector<double> am(gs * gs);
  detail::parallel_for(gs, threads, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i)
      for (std::size_t j = 0; j < gs; ++j)
        am[i * gs + j] = static_cast<double>(multiply_bits(
            model, bits, is_signed, static_cast<int>(i) * out.stride + out.stride / 2 + min_value,
            static_cast<int>(j) * out.stride + out.stride / 2 + min_value));
  });
  detail::grid_gradients(am, grid, h, out.stride, out.da, out.db, threads);
  return out;
}

template <class Operand, class Model>
coarse_gradients lut2d_coarse(const Model& model, int hws = auto_hws, int grid = 256,
                              unsigned threads = 0) {
  static_assert(!Operand::is_signed || Model::supports_signed,
                "amgrad::wide: this multiplier model has no signed definition; use an unsigned "
                "operand");
  return lut2d_coarse_bits(model, Operand::bits, Operand::is_signed, hws, grid, threads);
}

// The exact LUT-2D (Eq. 4-6 at full resolution) as two 2^B x 2^B float tables, for B <= 13.
struct full_gradients {
  int bits = 0;
  std::vector<float> da, db;
};
template <class Model>
full_gradients lut2d_exact_bits(const Model& model, int bits, bool is_signed, int hws = auto_hws,
                                unsigned threads = 0) {
  amgrad::detail::require_in_range("amgrad::wide::lut2d_exact", "bit width", bits, 2, 13);
  const int n = 1 << bits;
  const int h = hws == auto_hws ? default_hws(bits) : hws;
  const int min_value = is_signed ? -(1 << (bits - 1)) : 0;
  const auto ns = static_cast<std::size_t>(n);
  std::vector<double> am(ns * ns);
  detail::parallel_for(ns, threads, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i)
      for (std::size_t j = 0; j < ns; ++j)
        am[i * ns + j] = static_cast<double>(multiply_bits(model, bits, is_signed,
                                                           static_cast<int>(i) + min_value,
                                                           static_cast<int>(j) + min_value));
  });
  full_gradients out{bits, {}, {}};
  detail::grid_gradients(am, n, h, 1.0, out.da, out.db, threads);
  return out;
}

}  // namespace amgrad::wide
