#pragma once
// The accurate multiplier: the baseline every AppMult is compared against.
#include <array>

#include "amgrad/multiplier/model.hpp"

namespace amgrad {

struct exact {
  static constexpr const char* name = "exact";
  static constexpr bool supports_signed = true;  // two's complement product
  // Constructor arguments, in order: tools spell the model "exact".
  static constexpr std::array<const char*, 0> parameters{};

  template <class Operand>
  AMGRAD_HOST_DEVICE constexpr std::int32_t operator()(Operand, int a, int b) const {
    return a * b;
  }
};

}  // namespace amgrad
