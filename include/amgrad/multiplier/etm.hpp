#pragma once
// Error-tolerant multiplier (ETM): K. Y. Kyaw, W. L. Goh, K. S. Yeo, "Low-power high-speed
// multiplier for error-tolerant application", IEEE EDSSC 2010.
//
// Each operand is split at bit k into a multiplication part (the high bits, aH = a >> k) and a
// non-multiplication part (the low k bits, aL). Our reading of the design:
//   * control: when both high parts are zero, the accurate multiplier is used on the low parts,
//     so AM = aL * bL = a * b (exact);
//   * otherwise the high parts are multiplied exactly into the product bits >= 2k, and the
//     non-multiplication part fills the low 2k product bits without multiplying: it scans the
//     low bits from position k-1 down to 0; operand position i drives product bit k + i; from the
//     first position where a_i or b_i is 1, that product bit and every lower one are set to 1:
//         AM = (aH * bH) << 2k  |  (2^(k + h + 1) - 1),  h = highest set bit of (aL | bL)
//     (and just (aH * bH) << 2k when aL = bL = 0).
// etm{0} and any k >= B are exact. The paper defines the design on unsigned operands only, and
// its bit-pattern rule has no sign-magnitude counterpart there, so signed operands are refused at
// compile time.
#include <array>

#include "amgrad/error.hpp"
#include "amgrad/multiplier/model.hpp"

namespace amgrad {

struct etm {
  static constexpr const char* name = "etm";
  static constexpr bool supports_signed = false;
  // Constructor arguments, in order: tools spell the model "etm:k".
  static constexpr std::array<const char*, 1> parameters{"k"};

  int k = 0;  // width of the non-multiplication (low) part of each operand

  constexpr explicit etm(int low_bits) : k(low_bits) {
    detail::require_in_range("amgrad::etm", "k", k, 0, max_bits);
  }

  AMGRAD_HOST_DEVICE constexpr std::uint32_t unsigned_product(int, std::uint32_t a,
                                                              std::uint32_t b) const {
    const std::uint32_t ah = a >> k, bh = b >> k;
    if (ah == 0 && bh == 0) return a * b;
    const std::uint32_t high = (ah * bh) << (2 * k);
    const std::uint32_t low_bits = (a | b) & ((1u << k) - 1u);
    if (low_bits == 0) return high;
    const int h = detail::bit_length(low_bits) - 1;
    return high | ((1u << (k + h + 1)) - 1u);
  }

  template <class Operand>
  AMGRAD_HOST_DEVICE constexpr std::int32_t operator()(Operand, int a, int b) const {
    static_assert(!Operand::is_signed, "amgrad::etm is defined for unsigned operands only");
    return static_cast<std::int32_t>(unsigned_product(Operand::bits, static_cast<std::uint32_t>(a),
                                                      static_cast<std::uint32_t>(b)));
  }
};

}  // namespace amgrad
