#pragma once
// Error metrics of a product table against the exact product of the same operand format.
//
// With e(a, b) = AM(a, b) - a*b over all 2^(2B) operand pairs (values, not codes):
//   error_rate   fraction of entries with e != 0 (ER; the DATE'25 INFO lines print it in %)
//   med          mean |e|                                                (MED)
//   nmed_over_max_product   med / max_product, the usual NMED (EvoApprox and most papers):
//                           normalised by the largest |a*b| the operand format allows,
//                           max_product = (2^B - 1)^2 unsigned, 2^(2B-2) = (-2^(B-1))^2 signed
//   nmed_over_2_pow_2b      med / 2^(2B): the DATE'25 variant, what its INFO lines print (in
//                           %); (1 - 2^-B)^2 times the usual NMED for unsigned operands, a
//                           quarter of it for signed ones
//   mred         mean |e| / |a*b| over the pairs with a*b != 0 (pairs with a*b = 0 have no
//                relative error and are left out; `mred_pairs` says how many were used)
//   wce          max |e|                                       (worst-case error)
//   bias         mean e (signed; the mean error)
//   mse          mean e^2
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "amgrad/table/table.hpp"

namespace amgrad {

struct error_metrics {
  operand_format format{};
  std::size_t pairs = 0;       // 2^(2B)
  std::size_t mred_pairs = 0;  // pairs with a nonzero exact product
  double error_rate = 0;
  double med = 0;
  std::int64_t max_product = 0;      // the largest |a*b| of the operand format
  double nmed_over_max_product = 0;  // med / max_product (the usual NMED)
  double nmed_over_2_pow_2b = 0;     // med / 2^(2B) (DATE'25's NMED)
  double mred = 0;
  std::int64_t wce = 0;
  double bias = 0;
  double mse = 0;
};

inline error_metrics metrics(const product_table& lut) {
  amgrad::require(!lut.empty(), "amgrad::metrics", "the table is empty");
  const operand_format f = lut.format();
  error_metrics m;
  m.format = f;
  m.pairs = lut.size();
  std::size_t wrong = 0;
  std::int64_t sum_abs = 0, sum_signed = 0;  // |e| < 2^33, 2^16 pairs: no overflow
  double sum_squares = 0, sum_relative = 0;
  for (int a = 0; a < f.size(); ++a)
    for (int b = 0; b < f.size(); ++b) {
      const std::int64_t exact = std::int64_t{f.value(a)} * f.value(b);
      const std::int64_t e = std::int64_t{lut(a, b)} - exact;
      const std::int64_t magnitude = e < 0 ? -e : e;
      wrong += e != 0;
      sum_abs += magnitude;
      sum_signed += e;
      sum_squares += static_cast<double>(e) * static_cast<double>(e);
      m.wce = std::max(m.wce, magnitude);
      if (exact != 0) {
        sum_relative += static_cast<double>(magnitude) / static_cast<double>(exact < 0 ? -exact : exact);
        ++m.mred_pairs;
      }
    }
  const auto n = static_cast<double>(m.pairs);
  m.error_rate = static_cast<double>(wrong) / n;
  m.med = static_cast<double>(sum_abs) / n;
  m.nmed_over_2_pow_2b = m.med / n;  // n = 2^(2B)
  // The largest |a*b|: (2^B - 1)^2 for unsigned, (-2^(B-1))^2 = 2^(2B-2) for signed operands.
  const std::int64_t extreme = f.is_signed ? f.min_value() : f.max_value();
  m.max_product = extreme * extreme;
  m.nmed_over_max_product = m.med / static_cast<double>(m.max_product);
  m.mred = m.mred_pairs == 0 ? 0.0 : sum_relative / static_cast<double>(m.mred_pairs);
  m.bias = static_cast<double>(sum_signed) / n;
  m.mse = sum_squares / n;
  return m;
}

}  // namespace amgrad
