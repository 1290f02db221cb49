#pragma once
// Helpers for the model property tests: loops over every operand pair, and the properties that
// hold for every sign-magnitude model.
#include <cstdint>

#include "support_models.hpp"

namespace amgrad::test {

// f(a, b) for every pair of operand values.
template <class Operand, class F>
void for_all_pairs(F&& f) {
  for (int a = Operand::min_value; a <= Operand::max_value; ++a)
    for (int b = Operand::min_value; b <= Operand::max_value; ++b) f(a, b);
}

// Sign-magnitude: AM(-a, b) = AM(a, -b) = -AM(a, b), AM(-a, -b) = AM(a, b), and the non-negative
// quadrant equals the unsigned design of the same width. Checked on every pair whose negation is
// representable. Counts mismatches (one CHECK per pair would flood the report).
template <int Bits, class Model>
void check_sign_magnitude(const Model& model) {
  using S = signed_operand<Bits>;
  using U = unsigned_operand<Bits>;
  static_assert(Model::supports_signed);
  int mismatches = 0;
  for (int a = 0; a <= S::max_value; ++a)
    for (int b = 0; b <= S::max_value; ++b) {
      const std::int32_t p = model(S{}, a, b);
      if (p != model(U{}, a, b)) ++mismatches;
      if (model(S{}, -a, b) != -p || model(S{}, a, -b) != -p || model(S{}, -a, -b) != p)
        ++mismatches;
    }
  CAPTURE(Bits);
  CHECK(mismatches == 0);
  // The most negative value has magnitude 2^(B-1), which still goes through the B-bit circuit.
  const int m = S::min_value;
  CHECK(model(S{}, m, 1) == -static_cast<std::int32_t>(model(U{}, -m, 1)));
  CHECK(model(S{}, m, m) == model(U{}, -m, -m));
}

}  // namespace amgrad::test
