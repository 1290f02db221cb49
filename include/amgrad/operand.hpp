#pragma once
// Operand policy: bit width and signedness of the multiplier inputs, and the mapping between a
// *code* (the table index, 0 .. 2^B-1) and the integer *value* it stands for.
//
// Codes are in value order (code = value - min_value), the ApproxTorch "offset" order for signed
// operands. Value order keeps neighbouring codes neighbouring values, which is what the LUT-2D
// smoothing window and the vector kernels rely on.
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "amgrad/config.hpp"
#include "amgrad/error.hpp"
#include "amgrad/type_list.hpp"

namespace amgrad {

// The storage type of one operand code in matrices handed to kernels.
using code_t = std::uint8_t;

inline constexpr int min_bits = 2;
inline constexpr int max_bits = 8;

// Run-time description of an operand (for tables loaded from files and for CLI tools).
struct operand_format {
  int bits = 8;
  bool is_signed = false;

  AMGRAD_HOST_DEVICE constexpr int size() const { return 1 << bits; }
  AMGRAD_HOST_DEVICE constexpr int min_value() const { return is_signed ? -(1 << (bits - 1)) : 0; }
  AMGRAD_HOST_DEVICE constexpr int max_value() const { return min_value() + size() - 1; }
  AMGRAD_HOST_DEVICE constexpr int value(int code) const { return code + min_value(); }
  AMGRAD_HOST_DEVICE constexpr int code(int value) const { return value - min_value(); }
  AMGRAD_HOST_DEVICE constexpr bool contains_value(int v) const {
    return v >= min_value() && v <= max_value();
  }

  friend constexpr bool operator==(operand_format x, operand_format y) {
    return x.bits == y.bits && x.is_signed == y.is_signed;
  }
  friend constexpr bool operator!=(operand_format x, operand_format y) { return !(x == y); }

  // Throws amgrad::error when the width is outside what the library supports.
  void validate(const char* where) const {
    detail::require_in_range(where, "bit width", bits, min_bits, max_bits);
  }
};

inline std::string to_string(operand_format f) {
  return amgrad::concat(f.is_signed ? "s" : "u", f.bits);
}

enum class signedness : bool { unsigned_operand = false, signed_operand = true };

// Compile-time operand policy.
template <int Bits, signedness Sign = signedness::unsigned_operand>
struct operand {
  static_assert(Bits >= min_bits && Bits <= max_bits,
                "amgrad::operand: the bit width must be between 2 and 8");

  static constexpr int bits = Bits;
  static constexpr bool is_signed = Sign == signedness::signed_operand;
  static constexpr operand_format format{Bits, is_signed};
  static constexpr int size = format.size();
  static constexpr int min_value = format.min_value();
  static constexpr int max_value = format.max_value();

  AMGRAD_HOST_DEVICE static constexpr int value(int code) { return code + min_value; }
  AMGRAD_HOST_DEVICE static constexpr int code(int value) { return value - min_value; }
};

template <int Bits>
using unsigned_operand = operand<Bits, signedness::unsigned_operand>;
template <int Bits>
using signed_operand = operand<Bits, signedness::signed_operand>;

using u4 = unsigned_operand<4>;
using u6 = unsigned_operand<6>;
using u7 = unsigned_operand<7>;
using u8 = unsigned_operand<8>;
using s4 = signed_operand<4>;
using s6 = signed_operand<6>;
using s7 = signed_operand<7>;
using s8 = signed_operand<8>;

// ---- the operand types, listed once --------------------------------------------------------

namespace detail {
template <signedness Sign, int... Offsets>
constexpr type_list<operand<min_bits + Offsets, Sign>...> operands_of(
    std::integer_sequence<int, Offsets...>) {
  return {};
}
inline constexpr auto widths = std::make_integer_sequence<int, max_bits - min_bits + 1>{};
}  // namespace detail

// Every operand type the library supports: widths 2..8, unsigned then signed. Tools, registries
// and tests that pick an operand at run time iterate this list.
using operand_types = decltype(concat(detail::operands_of<signedness::unsigned_operand>(detail::widths),
                                      detail::operands_of<signedness::signed_operand>(detail::widths)));
static_assert(operand_types::size == 2 * (max_bits - min_bits + 1),
              "amgrad::operand_types: every width, both signednesses");

// Calls f(std::type_identity<Operand>{}) for the operand type of a run-time format; throws
// amgrad::error for a format outside the library's range.
template <class F>
void with_operand(operand_format format, F&& f) {
  format.validate("amgrad::with_operand");
  for_each_type(operand_types{}, [&](auto t) {
    if (decltype(t)::type::format == format) f(t);
  });
}

}  // namespace amgrad
