#pragma once
// LUT-2D gradient (DATE'25 Eq. 4-6): box-smooth the truth table along one operand with half
// window HWS, then take a central difference; near the edges, where the window does not fit,
// use the column's (max - min) / 2^B, signed as the column's end-to-end change
// AM(a_max, b) - AM(a_min, b) (the paper's multipliers are unsigned, where the sign is +; for a
// signed operand (max - min) alone has the wrong sign wherever the slope is negative).
//
// The arithmetic reproduces the published tables' float32 order exactly (numpy pairwise sum,
// mean rounded to float32, float32 difference), so the interior matches them bit for bit.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "amgrad/concepts.hpp"
#include "amgrad/table/gradient_tables.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad {

// The half window size that means "the paper's default for the table's width".
inline constexpr int auto_hws = -1;

// 32 for 8-bit and 16 for 7-bit as in the paper, halved per bit below that (at least 1).
constexpr int default_hws(int bits) { return bits >= 3 ? (1 << (bits - 3)) : 1; }

// Where the boundary values of dAM/da come from.
enum class boundary_rule {
  eq6,        // (max - min) / 2^B over the column b, for that b: what Eq. 6 says (signed as
              // the column's change, for signed operands)
  published,  // over row b, unsigned: the slicing slip in the authors' script; reproduces their
              // tables (which are all unsigned)
};

namespace detail {

// numpy's float32 pairwise summation (numpy/core/src/umath/loops_utils.h), which the
// published tables were made with. For integer tables the partial sums are exact below 2^24,
// but a user table may hold larger values, so the order is kept in every case.
inline float pairwise_sum_f32(const float* x, std::ptrdiff_t n) {
  if (n < 8) {
    float sum = 0.0f;
    for (std::ptrdiff_t i = 0; i < n; ++i) sum += x[i];
    return sum;
  }
  if (n <= 128) {
    float r[8];
    for (int j = 0; j < 8; ++j) r[j] = x[j];
    std::ptrdiff_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += x[i + j];
    float sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += x[i];
    return sum;
  }
  std::ptrdiff_t half = n / 2;
  half -= half % 8;
  return pairwise_sum_f32(x, half) + pairwise_sum_f32(x + half, n - half);
}

inline float range_rate(const std::vector<float>& line) {
  const auto [lo, hi] = std::minmax_element(line.begin(), line.end());
  return (*hi - *lo) / static_cast<float>(line.size());
}

// Eq. 6's (max - min) / 2^B with the sign that (max - min) loses: that of the line's end-to-end
// change, AM(x_max) - AM(x_min). For the exact s8 multiplier at b = -100 the slope along a is
// -100, and (max - min)/2^B alone would give +99.6. Unsigned lines of a monotone multiplier
// rise, so this changes nothing for them (and the published tables are unsigned).
inline float signed_range_rate(const std::vector<float>& line) {
  const float magnitude = range_rate(line);
  return line.back() < line.front() ? -magnitude : magnitude;
}

// Derivative of one line of the table (a column for dAM/da) by Eq. 4-6; `boundary` fills the
// positions where the smoothing window does not fit.
inline void smoothed_derivative(const std::vector<float>& line, int hws, float boundary,
                                float* out) {
  const int n = static_cast<int>(line.size());
  const int width = 2 * hws + 1;
  std::vector<float> smooth(static_cast<std::size_t>(n), 0.0f);
  for (int x = hws; x <= n - 1 - hws; ++x) {
    const float sum = pairwise_sum_f32(line.data() + (x - hws), width);
    smooth[static_cast<std::size_t>(x)] = static_cast<float>(static_cast<double>(sum) / width);
  }
  for (int x = 0; x < n; ++x) {
    const bool interior = x > hws && x < n - 1 - hws;
    out[x] = interior ? (smooth[static_cast<std::size_t>(x + 1)] -
                         smooth[static_cast<std::size_t>(x - 1)]) / 2.0f
                      : boundary;
  }
}

inline std::vector<float> table_column(const product_table& lut, int b) {
  std::vector<float> col(static_cast<std::size_t>(lut.side()));
  for (int a = 0; a < lut.side(); ++a) col[static_cast<std::size_t>(a)] = static_cast<float>(lut(a, b));
  return col;
}

inline std::vector<float> table_row(const product_table& lut, int a) {
  std::vector<float> row(static_cast<std::size_t>(lut.side()));
  for (int b = 0; b < lut.side(); ++b) row[static_cast<std::size_t>(b)] = static_cast<float>(lut(a, b));
  return row;
}

inline void require_hws(int hws, operand_format f, const char* where) {
  require(hws >= 0 && 2 * hws + 1 <= f.size(), where, "half window size ", hws,
          " does not fit a ", to_string(f), " table (need 0 <= HWS and 2*HWS+1 <= ", f.size(),
          ")");
}

}  // namespace detail

// The half window size has one knob: the `hws` member, set at construction (a constexpr value
// where a configuration is fixed at compile time: `constexpr lut2d scheme{16};`) or changed at
// run time. auto_hws resolves to default_hws(bits) of the table the scheme is applied to.
struct lut2d {
  static constexpr const char* name = "lut2d";
  static constexpr bool is_separable = false;

  int hws = auto_hws;
  boundary_rule boundary = boundary_rule::eq6;

  int resolved_hws(operand_format f) const { return hws == auto_hws ? default_hws(f.bits) : hws; }

  gradient_tables tables(const product_table& lut) const {
    const operand_format f = lut.format();
    const int h = resolved_hws(f);
    detail::require_hws(h, f, "amgrad::lut2d");
    const int n = f.size();
    gradient_tables out{gradient_table(f), gradient_table(f)};
    std::vector<float> derivative(static_cast<std::size_t>(n));
    for (int b = 0; b < n; ++b) {  // dAM/da: along a, for fixed b
      const auto column = detail::table_column(lut, b);
      const float edge = boundary == boundary_rule::eq6
                             ? detail::signed_range_rate(column)
                             : detail::range_rate(detail::table_row(lut, b));
      detail::smoothed_derivative(column, h, edge, derivative.data());
      for (int a = 0; a < n; ++a) out.da(a, b) = derivative[static_cast<std::size_t>(a)];
    }
    for (int a = 0; a < n; ++a) {  // dAM/db: along b, for fixed a; both rules agree here
      const auto row = detail::table_row(lut, a);
      const float edge = boundary == boundary_rule::eq6 ? detail::signed_range_rate(row)
                                                        : detail::range_rate(row);
      detail::smoothed_derivative(row, h, edge, derivative.data());
      for (int b = 0; b < n; ++b) out.db(a, b) = derivative[static_cast<std::size_t>(b)];
    }
    return out;
  }
};

static_assert(gradient_scheme<lut2d> && !separable_scheme<lut2d>);

}  // namespace amgrad
