#pragma once
// LUT-1D, the "average changing rate": dAM/da(a, b) ~ g_a(b) depends on the other operand only
// (and dAM/db(a, b) ~ g_b(a)), so the backward pass is a table map plus an ordinary float GEMM.
//
// The journal's exact formula is not public; the rules below are our readings of "average
// changing rate", pluggable through `rate_rule`:
//   signed_range  (default) s * (max_a AM(a,b) - min_a AM(a,b)) / 2^B, with s the sign of
//                 AM(a_max,b) - AM(a_min,b). Eq. 6 applied to the whole column, with the sign
//                 that (max - min) loses restored for signed multipliers. For the exact
//                 multiplier it is b (2^B-1)/2^B: STE scaled by (2^B-1)/2^B.
//   secant        (AM(a_max,b) - AM(a_min,b)) / (a_max - a_min); exactly b for the exact one.
//   lut2d_mean    the mean over a of the LUT-2D gradient column (Eq. 6 boundaries).
//   least_squares the least-squares slope of AM(., b) against a (of the raw column: the box
//                 filter changes a least-squares slope only through the edge rows).
#include <cstddef>
#include <vector>

#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/concepts.hpp"
#include "amgrad/table/gradient_tables.hpp"

namespace amgrad {

enum class rate_rule { signed_range, secant, lut2d_mean, least_squares };

namespace detail {

// Average changing rate of `line`, sampled at operand values first, first+1, ...
inline float average_rate(const std::vector<float>& line, int first_value, rate_rule rule) {
  const auto n = static_cast<double>(line.size());
  const double front = line.front(), back = line.back();
  switch (rule) {
    case rate_rule::signed_range:
      return signed_range_rate(line);
    case rate_rule::secant:
      return static_cast<float>((back - front) / (n - 1));
    case rate_rule::least_squares: {
      const double mean_x = first_value + (n - 1) / 2;
      double mean_y = 0;
      for (float y : line) mean_y += y;
      mean_y /= n;
      double sxy = 0, sxx = 0;
      for (std::size_t i = 0; i < line.size(); ++i) {
        const double dx = first_value + static_cast<double>(i) - mean_x;
        sxy += dx * (line[i] - mean_y);
        sxx += dx * dx;
      }
      return static_cast<float>(sxy / sxx);
    }
    case rate_rule::lut2d_mean:
      break;  // needs the whole table; handled by lut1d
  }
  fail("amgrad::lut1d", "unknown rate rule");
}

}  // namespace detail

struct lut1d {
  static constexpr const char* name = "lut1d";
  static constexpr bool is_separable = true;

  rate_rule rule = rate_rule::signed_range;
  int hws = auto_hws;  // only used by rate_rule::lut2d_mean

  separable_gradients factors(const product_table& lut) const {
    const operand_format f = lut.format();
    const int n = f.size();
    separable_gradients out{f, std::vector<float>(static_cast<std::size_t>(n)),
                            std::vector<float>(static_cast<std::size_t>(n))};
    if (rule == rate_rule::lut2d_mean) {
      const auto full = lut2d{hws, boundary_rule::eq6}.tables(lut);
      for (int c = 0; c < n; ++c) {
        double sum_a = 0, sum_b = 0;
        for (int other = 0; other < n; ++other) {
          sum_a += full.da(other, c);
          sum_b += full.db(c, other);
        }
        out.da_of_b[static_cast<std::size_t>(c)] = static_cast<float>(sum_a / n);
        out.db_of_a[static_cast<std::size_t>(c)] = static_cast<float>(sum_b / n);
      }
      return out;
    }
    for (int c = 0; c < n; ++c) {
      out.da_of_b[static_cast<std::size_t>(c)] =
          detail::average_rate(detail::table_column(lut, c), f.min_value(), rule);
      out.db_of_a[static_cast<std::size_t>(c)] =
          detail::average_rate(detail::table_row(lut, c), f.min_value(), rule);
    }
    return out;
  }
  gradient_tables tables(const product_table& lut) const { return factors(lut).expand(); }
};

static_assert(separable_scheme<lut1d>);

}  // namespace amgrad
