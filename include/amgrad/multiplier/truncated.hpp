#pragma once
// Truncated multiplier: the partial-product array with its k least significant columns removed
// (column c holds the bits a_i b_j with i + j = c). Removing columns (rather than rounding the
// product) is the "vertical truncation" of the DATE'25 reference designs, e.g.
// 8_8_U_SP_WT_CL_GenMul_vertical_truncation_8cols. Reference: K. E. Wires, M. J. Schulte,
// D. McCarley, "FPGA resource reduction through truncated multiplication", FPL 2001.
// Signed operands use sign-magnitude.
#include <array>

#include "amgrad/error.hpp"
#include "amgrad/multiplier/model.hpp"

namespace amgrad {

struct truncated {
  static constexpr const char* name = "truncated";
  static constexpr bool supports_signed = true;
  // Constructor arguments, in order: tools spell the model "truncated:k".
  static constexpr std::array<const char*, 1> parameters{"k"};

  int columns = 0;  // k: how many least significant partial-product columns are dropped

  constexpr truncated() = default;
  constexpr explicit truncated(int k) : columns(k) {
    detail::require_in_range("amgrad::truncated", "column count k", k, 0, 2 * max_bits);
  }

  AMGRAD_HOST_DEVICE constexpr std::uint32_t unsigned_product(int bits, std::uint32_t a,
                                                              std::uint32_t b) const {
    std::uint32_t sum = 0;
    for (int i = 0; i < bits; ++i)
      for (int j = 0; j < bits; ++j)
        if (i + j >= columns && ((a >> i) & 1u) && ((b >> j) & 1u)) sum += 1u << (i + j);
    return sum;
  }

  template <class Operand>
  AMGRAD_HOST_DEVICE constexpr std::int32_t operator()(Operand, int a, int b) const {
    return detail::sign_magnitude(*this, Operand::bits, a, b);
  }
};

}  // namespace amgrad
