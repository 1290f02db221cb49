#pragma once
// Operands wider than 8 bits (9..16): codes are uint16_t, and no 2^B x 2^B table is ever built
// (2^32 entries at 16 bits). The forward pass evaluates the model per MAC (forward.hpp), the
// LUT-1D gradients come from exact column scans (lut1d.hpp).
#include <cstdint>

#include "amgrad/operand.hpp"

namespace amgrad::wide {

using code_t = std::uint16_t;

inline constexpr int min_bits = 9;
inline constexpr int max_bits = 16;

template <int Bits, signedness Sign = signedness::unsigned_operand>
struct operand {
  static_assert(Bits >= min_bits && Bits <= max_bits,
                "amgrad::wide::operand: the bit width must be between 9 and 16 (amgrad::operand "
                "holds 2..8)");
  using code_type = code_t;
  static constexpr int bits = Bits;
  static constexpr bool is_signed = Sign == signedness::signed_operand;
  // The run-time description, so that quant:: (ranges, params, their validation, which read only
  // format.contains_value and to_string) takes a wide operand as it takes a narrow one.
  static constexpr operand_format format{Bits, is_signed};
  static constexpr int size = 1 << Bits;
  static constexpr int min_value = is_signed ? -(1 << (Bits - 1)) : 0;
  static constexpr int max_value = min_value + size - 1;

  static constexpr int value(int code) { return code + min_value; }
  static constexpr int code(int value) { return value - min_value; }
};

template <int Bits>
using unsigned_operand = operand<Bits, signedness::unsigned_operand>;
template <int Bits>
using signed_operand = operand<Bits, signedness::signed_operand>;

using u12 = unsigned_operand<12>;
using u16 = unsigned_operand<16>;
using s12 = signed_operand<12>;
using s16 = signed_operand<16>;

}  // namespace amgrad::wide
