#pragma once
// Mitchell's logarithmic multiplier: J. N. Mitchell, "Computer multiplication and division using
// binary logarithms", IRE Transactions on Electronic Computers EC-11(4), 1962.
//
// Write x = 2^k (1 + f) with 0 <= f < 1 and approximate log2 x by k + f (a linear mantissa).
// The two logarithms are added and the antilogarithm is taken with the same linear rule:
//     f_a + f_b <  1:  AM = 2^(k_a + k_b)     (1 + f_a + f_b)
//     f_a + f_b >= 1:  AM = 2^(k_a + k_b + 1) (f_a + f_b)
// and a zero operand gives 0. For integer operands the fraction f_a has k_a bits, so with the
// mantissa kept in full (B - 1 fraction bits) both cases are exact integers and no rounding is
// involved. The result never exceeds a * b, is exact when an operand is a power of two, and its
// relative error is at most 1/9 (11.1%, at f_a = f_b = 1/2). Signed operands use sign-magnitude:
// a logarithm exists only for |x|, and the sign of the product is applied afterwards.
#include <array>

#include "amgrad/multiplier/model.hpp"

namespace amgrad {

struct mitchell {
  static constexpr const char* name = "mitchell";
  static constexpr bool supports_signed = true;  // sign-magnitude
  // Constructor arguments, in order: tools spell the model "mitchell".
  static constexpr std::array<const char*, 0> parameters{};

  AMGRAD_HOST_DEVICE constexpr std::uint32_t unsigned_product(int, std::uint32_t a,
                                                              std::uint32_t b) const {
    if (a == 0 || b == 0) return 0;
    const int ka = detail::bit_length(a) - 1;  // characteristic: position of the leading one
    const int kb = detail::bit_length(b) - 1;
    const std::uint32_t scale = 1u << (ka + kb);
    // (f_a + f_b) * 2^(ka + kb), an integer since f_a = (a - 2^ka) / 2^ka.
    const std::uint32_t fraction_sum = ((a - (1u << ka)) << kb) + ((b - (1u << kb)) << ka);
    return fraction_sum < scale ? scale + fraction_sum : 2u * fraction_sum;
  }

  template <class Operand>
  AMGRAD_HOST_DEVICE constexpr std::int32_t operator()(Operand, int a, int b) const {
    return detail::sign_magnitude(*this, Operand::bits, a, b);
  }
};

}  // namespace amgrad
