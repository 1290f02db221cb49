#pragma once
// LUT-1D gradients for wide operands from exact column scans: da_of_b[b] is the average changing
// rate of the column AM(., b), db_of_a[a] that of the row AM(a, .), by the same rules as
// amgrad::lut1d (signed_range, secant, least_squares; lut2d_mean needs the 2-D table and is
// refused). 2 * 2^(2B) model evaluations, no table: each line is evaluated into a buffer (the
// loop the compiler vectorises where the model allows) and reduced in double; lines are split
// over threads. At 8 bits and below it equals amgrad::lut1d on the model's table.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/gradient/lut1d.hpp"
#include "amgrad/wide/multiply.hpp"
#include "amgrad/wide/operand.hpp"

namespace amgrad::wide {

struct lut1d_factors {
  int bits = 0;
  bool is_signed = false;
  std::vector<float> da_of_b;  // dAM/da at (any a, b), by code of b
  std::vector<float> db_of_a;  // dAM/db at (a, any b), by code of a
};

namespace detail {
inline float line_rate(const std::int64_t* y, std::size_t n, rate_rule rule) {
  switch (rule) {
    case rate_rule::signed_range: {
      const auto [lo, hi] = std::minmax_element(y, y + n);
      const double magnitude = static_cast<double>(*hi - *lo) / static_cast<double>(n);
      return static_cast<float>(y[n - 1] < y[0] ? -magnitude : magnitude);
    }
    case rate_rule::secant:
      return static_cast<float>(static_cast<double>(y[n - 1] - y[0]) / static_cast<double>(n - 1));
    case rate_rule::least_squares: {
      const double mean_x = (static_cast<double>(n) - 1) / 2;
      double mean_y = 0;
      for (std::size_t i = 0; i < n; ++i) mean_y += static_cast<double>(y[i]);
      mean_y /= static_cast<double>(n);
      double sxy = 0, sxx = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double dx = static_cast<double>(i) - mean_x;
        sxy += dx * (static_cast<double>(y[i]) - mean_y);
        sxx += dx * dx;
      }
      return static_cast<float>(sxy / sxx);
    }
    case rate_rule::lut2d_mean: break;
  }
  amgrad::fail("amgrad::wide::lut1d_scan", "rate_rule::lut2d_mean needs the 2-D table; use "
               "signed_range, secant or least_squares");
}
}  // namespace detail

// Run-time width (2..16): the scans behind lut1d_scan<Operand>.
template <class Model>
lut1d_factors lut1d_scan_bits(const Model& model, int bits, bool is_signed,
                              rate_rule rule = rate_rule::signed_range, unsigned threads = 0) {
  amgrad::detail::require_in_range("amgrad::wide::lut1d_scan", "bit width", bits, 2, max_bits);
  if (rule == rate_rule::lut2d_mean) (void)detail::line_rate(nullptr, 0, rule);
  const std::size_t n = std::size_t{1} << bits;
  const int min_value = is_signed ? -(1 << (bits - 1)) : 0;
  lut1d_factors out{bits, is_signed, std::vector<float>(n), std::vector<float>(n)};
  const auto work = [&](std::size_t lo, std::size_t hi) {
    std::vector<std::int64_t> line(n);
    for (std::size_t c = lo; c < hi; ++c) {
      const int v = static_cast<int>(c) + min_value;
      for (std::size_t x = 0; x < n; ++x)  // column: a varies, b = v
        line[x] = multiply_bits(model, bits, is_signed, static_cast<int>(x) + min_value, v);
      out.da_of_b[c] = detail::line_rate(line.data(), n, rule);
      for (std::size_t x = 0; x < n; ++x)  // row: a = v, b varies
        line[x] = multiply_bits(model, bits, is_signed, v, static_cast<int>(x) + min_value);
      out.db_of_a[c] = detail::line_rate(line.data(), n, rule);
    }
  };
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, n));
  std::vector<std::thread> pool;
  const std::size_t chunk = (n + threads - 1) / threads;
  for (unsigned t = 1; t < threads; ++t) {
    const std::size_t lo = t * chunk, hi = std::min(n, lo + chunk);
    if (lo < hi) pool.emplace_back(work, lo, hi);
  }
  work(0, std::min(n, chunk));
  for (auto& t : pool) t.join();
  return out;
}

template <class Operand, class Model>
lut1d_factors lut1d_scan(const Model& model, rate_rule rule = rate_rule::signed_range,
                         unsigned threads = 0) {
  static_assert(!Operand::is_signed || Model::supports_signed,
                "amgrad::wide: this multiplier model has no signed definition; use an unsigned "
                "operand");
  return lut1d_scan_bits(model, Operand::bits, Operand::is_signed, rule, threads);
}

}  // namespace amgrad::wide
