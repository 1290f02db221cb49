#pragma once
// Partial-product perforation: G. Zervakis, K. Tsoumanis, S. Xydis, D. Soudris, K. Pekmestzi,
// "Design-efficient approximate multiplication circuits through partial product perforation",
// IEEE TVLSI 24(10), 2016.
//
// The partial products are the rows a * b_i << i, one per bit i of the second operand b.
// perforated{first, count} omits the `count` consecutive rows i = first .. first + count - 1
// before accumulation, and the remaining rows are added exactly:
//     AM(a, b) = a * (b with bits first .. first + count - 1 cleared).
// The error is a * (the perforated bits of b) >= 0, at most a * (2^count - 1) * 2^first.
// perforated{j, 0} is exact. Rows past the operand width do not exist and omit nothing.
// Only the unsigned array is modelled: a signed (two's complement or Booth) array perforates
// differently weighted rows, which sign-magnitude would not reproduce, so signed operands are
// refused at compile time.
#include <array>

#include "amgrad/error.hpp"
#include "amgrad/multiplier/model.hpp"

namespace amgrad {

struct perforated {
  static constexpr const char* name = "perforated";
  static constexpr bool supports_signed = false;
  // Constructor arguments, in order: tools spell the model "perforated:i,n".
  static constexpr std::array<const char*, 2> parameters{"i", "n"};

  int first = 0;  // index of the first omitted partial product (bit of b)
  int count = 0;  // how many consecutive partial products are omitted

  constexpr perforated(int first_row, int row_count) : first(first_row), count(row_count) {
    if (first < 0 || count < 0 || first + count > max_bits)
      amgrad::fail("amgrad::perforated", "rows [", first, ", ", first + count,
                   ") are not within the ", max_bits, " partial products of an operand");
  }

  AMGRAD_HOST_DEVICE constexpr std::uint32_t unsigned_product(int, std::uint32_t a,
                                                              std::uint32_t b) const {
    const std::uint32_t omitted = ((1u << count) - 1u) << first;
    return a * (b & ~omitted);
  }

  template <class Operand>
  AMGRAD_HOST_DEVICE constexpr std::int32_t operator()(Operand, int a, int b) const {
    static_assert(!Operand::is_signed, "amgrad::perforated is defined for unsigned operands only");
    return static_cast<std::int32_t>(unsigned_product(Operand::bits, static_cast<std::uint32_t>(a),
                                                      static_cast<std::uint32_t>(b)));
  }
};

}  // namespace amgrad
