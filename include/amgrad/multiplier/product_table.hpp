#pragma once
// The truth table of a model (the forward table every kernel reads): at compile time for small
// widths, at run time otherwise. It sits with the models: tables know nothing of models.
#include <array>
#include <cstdint>

#include "amgrad/multiplier/model.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad {

// constexpr truth table, row a, column b, by code. For widths up to 6 (4096 entries) it fits
// comfortably in the compiler's constexpr budget; wider tables use make_product_table.
template <class Operand, class Model>
constexpr std::array<std::int32_t, Operand::size * Operand::size> product_array(const Model& model) {
  static_assert(detail::checked_model<Model, Operand>());
  static_assert(Operand::bits <= 6,
                "amgrad::product_array: compile-time tables are for widths up to 6 bits; "
                "use amgrad::make_product_table for wider operands");
  std::array<std::int32_t, Operand::size * Operand::size> out{};
  for (int a = 0; a < Operand::size; ++a)
    for (int b = 0; b < Operand::size; ++b)
      out[a * Operand::size + b] = model(Operand{}, Operand::value(a), Operand::value(b));
  return out;
}

template <class Operand, class Model>
product_table make_product_table(const Model& model = Model{}) {
  static_assert(detail::checked_model<Model, Operand>());
  product_table out(Operand::format);
  for (int a = 0; a < Operand::size; ++a)
    for (int b = 0; b < Operand::size; ++b)
      out(a, b) = model(Operand{}, Operand::value(a), Operand::value(b));
  return out;
}

}  // namespace amgrad
