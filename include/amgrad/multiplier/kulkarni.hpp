#pragma once
// Kulkarni's underdesigned multiplier: P. Kulkarni, P. Gupta, M. Ercegovac, "Trading accuracy
// for power with an underdesigned multiplier architecture", VLSI Design 2011.
//
// The building block is a 2x2 multiplier that is exact except 3 * 3 = 7 (binary 111 instead of
// 1001, so the block needs only three output bits). Larger multipliers are composed recursively:
// A * B = AH*BH << 2h + (AH*BL + AL*BH) << h + AL*BL with exact adders, down to 2x2 blocks.
// Because every adder is exact, the composition of a B-bit multiplier equals the sum over all
// pairs of 2-bit digits, block(a_i, b_j) << 2(i + j), which is how it is computed here; this
// also defines widths that are not powers of two (6 bits: three digits). An odd width B is
// zero-extended to B + 1 bits, i.e. the top digit has a leading zero. The result is exact unless
// some digit of a and some digit of b are both 3, and never exceeds a * b.
// Signed operands use sign-magnitude (the paper's multiplier is unsigned; |x| <= 2^(B-1) fits the
// B-bit, zero-extended array).
#include <array>

#include "amgrad/multiplier/model.hpp"

namespace amgrad {

struct kulkarni {
  static constexpr const char* name = "kulkarni";
  static constexpr bool supports_signed = true;  // sign-magnitude
  // Constructor arguments, in order: tools spell the model "kulkarni".
  static constexpr std::array<const char*, 0> parameters{};

  // The underdesigned 2x2 block.
  AMGRAD_HOST_DEVICE static constexpr std::uint32_t block(std::uint32_t x, std::uint32_t y) {
    return x == 3u && y == 3u ? 7u : x * y;
  }

  AMGRAD_HOST_DEVICE constexpr std::uint32_t unsigned_product(int bits, std::uint32_t a,
                                                              std::uint32_t b) const {
    const int digits = (bits + 1) / 2;  // odd widths are zero-extended to the next even width
    std::uint32_t sum = 0;
    for (int i = 0; i < digits; ++i)
      for (int j = 0; j < digits; ++j)
        sum += block((a >> (2 * i)) & 3u, (b >> (2 * j)) & 3u) << (2 * (i + j));
    return sum;
  }

  template <class Operand>
  AMGRAD_HOST_DEVICE constexpr std::int32_t operator()(Operand, int a, int b) const {
    return detail::sign_magnitude(*this, Operand::bits, a, b);
  }
};

}  // namespace amgrad
