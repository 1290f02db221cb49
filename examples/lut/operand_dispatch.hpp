#pragma once
// Run-time operand format -> compile-time operand type: the 14 operand types (2..8 bits x
// signedness) as one Hana list, searched once, instead of a hand-written switch.
#include <boost/hana.hpp>
#include <utility>

#include "amgrad/error.hpp"
#include "amgrad/operand.hpp"

namespace amgrad_lut {

namespace hana = boost::hana;

template <amgrad::signedness Sign>
constexpr auto operands_of = hana::unpack(
    hana::range_c<int, amgrad::min_bits, amgrad::max_bits + 1>,
    [](auto... bits) { return hana::tuple_t<amgrad::operand<decltype(bits)::value, Sign>...>; });

inline constexpr auto all_operand_types =
    hana::concat(operands_of<amgrad::signedness::unsigned_operand>,
                 operands_of<amgrad::signedness::signed_operand>);

static_assert(hana::length(all_operand_types) == hana::size_c<14>,
              "amgrad-lut: 7 widths x 2 signednesses");

// Calls f(hana::type_c<Operand>) for the operand type whose format is `format`.
template <class F>
void with_operand(amgrad::operand_format format, F&& f) {
  format.validate("amgrad-lut");
  bool found = false;
  hana::for_each(all_operand_types, [&](auto t) {
    using Operand = typename decltype(t)::type;
    if (!found && Operand::format == format) {
      found = true;
      f(t);
    }
  });
  amgrad::detail::require(found, "amgrad-lut", "no operand type for ", amgrad::to_string(format));
}

}  // namespace amgrad_lut
