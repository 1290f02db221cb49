#pragma once
// DRUM(k), the dynamic range unbiased multiplier: S. Hashemi, R. I. Bahar, S. Reda, "DRUM: A
// dynamic range unbiased multiplier for approximate applications", ICCAD 2015.
//
// Each operand keeps the k bits that start at its leading one. When bits below them are dropped,
// the least significant kept bit is forced to 1, which centres the truncation error on zero (the
// "unbiasing"). The two k-bit segments are multiplied exactly and the product is shifted back by
// the number of dropped bits of both operands. An operand with at most k significant bits drops
// nothing and is used as is, so DRUM(k) is exact when both operands are below 2^k, and for every
// operand when k >= B.
//
// Per operand, the approximation x' satisfies |x' - x| / x <= 2^-(k-1), so the relative error of
// the product is at most (1 + 2^-(k-1))^2 - 1 (tight). The paper's unit is unsigned; signed
// operands use sign-magnitude (|x| goes through the unsigned unit, the sign is applied after).
#include <array>

#include "amgrad/error.hpp"
#include "amgrad/multiplier/model.hpp"

namespace amgrad {

struct drum {
  static constexpr const char* name = "drum";
  static constexpr bool supports_signed = true;  // sign-magnitude
  // Constructor arguments, in order: tools spell the model "drum:k".
  static constexpr std::array<const char*, 1> parameters{"k"};

  int k = 0;  // bits kept from the leading one of each operand

  constexpr explicit drum(int kept_bits) : k(kept_bits) {
    detail::require_in_range("amgrad::drum", "k", k, 2, 16);
  }

  // The operand as DRUM sees it: k bits from the leading one, unbiased, shifted back.
  AMGRAD_HOST_DEVICE constexpr std::uint32_t approximate(std::uint32_t x) const {
    const int length = detail::bit_length(x);
    if (length <= k) return x;
    const int dropped = length - k;
    return ((x >> dropped) | 1u) << dropped;
  }

  AMGRAD_HOST_DEVICE constexpr std::uint32_t unsigned_product(int, std::uint32_t a,
                                                              std::uint32_t b) const {
    return approximate(a) * approximate(b);
  }

  template <class Operand>
  AMGRAD_HOST_DEVICE constexpr std::int32_t operator()(Operand, int a, int b) const {
    return detail::sign_magnitude(*this, Operand::bits, a, b);
  }
};

}  // namespace amgrad
