#pragma once
// What a multiplier model is, and the helpers every model shares.
//
// A model is a type M with
//   static constexpr const char* name;        // short identifier, used by tools and reports
//   static constexpr bool supports_signed;    // false: instantiating a signed operand fails
//   template <class Operand>
//   AMGRAD_HOST_DEVICE constexpr std::int32_t operator()(Operand, int a, int b) const;
// where a and b are operand *values* (not codes). Parameters of a design (k, break lines...) are
// constexpr-constructible members, so a model instance works at compile time, on the host and in
// a CUDA kernel alike.
#include <cstdint>

#include "amgrad/concepts.hpp"
#include "amgrad/config.hpp"
#include "amgrad/operand.hpp"

namespace amgrad {
namespace detail {

// Sign-magnitude extension of an unsigned design: |a| and |b| go through the unsigned circuit
// on the full B bits (|-2^(B-1)| = 2^(B-1) still fits), and the result is negated when the signs
// differ. This is how the cited papers extend their designs to signed operands.
// `Core` provides `unsigned_product(int bits, uint32_t a, uint32_t b)`.
template <class Core>
AMGRAD_HOST_DEVICE constexpr std::int32_t sign_magnitude(const Core& core, int bits, int a, int b) {
  const bool negative = (a < 0) != (b < 0);
  const auto ma = static_cast<std::uint32_t>(a < 0 ? -a : a);
  const auto mb = static_cast<std::uint32_t>(b < 0 ? -b : b);
  const auto magnitude = static_cast<std::int32_t>(core.unsigned_product(bits, ma, mb));
  return negative ? -magnitude : magnitude;
}

AMGRAD_HOST_DEVICE constexpr int bit_length(std::uint32_t x) {
  int n = 0;
  while (x != 0) {
    ++n;
    x >>= 1;
  }
  return n;
}

// The compile-time checks of a (model, operand) pair, with messages a user can act on; every
// class and function that takes a model runs them first.
template <class Model, class Operand>
constexpr bool checked_model() {
  static_assert(operand_policy<Operand>,
                "amgrad: the operand must be an amgrad::operand<Bits, Signedness> (2..8 bits)");
  static_assert(named<Model> && declares_signedness<Model>,
                "amgrad: a multiplier model needs `static constexpr const char* name` and "
                "`static constexpr bool supports_signed`");
  static_assert(multiplies<Model, Operand>,
                "amgrad: a multiplier model needs `constexpr int32_t operator()(Operand, int a, "
                "int b) const` returning an integer");
  static_assert(defined_for<Model, Operand>,
                "amgrad: this multiplier model has no signed definition; use an unsigned operand");
  return true;
}

}  // namespace detail

// Calls a model on two operand values after the compile-time checks.
template <class Operand, class Model>
AMGRAD_HOST_DEVICE constexpr std::int32_t multiply(const Model& model, int a, int b) {
  static_assert(detail::checked_model<Model, Operand>());
  return static_cast<std::int32_t>(model(Operand{}, a, b));
}

// Swaps the operand order: AM'(a, b) = AM(b, a). AppMults are not commutative; the library's
// convention is a = activation, b = weight, and this adaptor lets a user flip it.
template <class Model>
struct swapped {
  static constexpr const char* name = Model::name;
  static constexpr bool supports_signed = Model::supports_signed;
  Model inner{};

  template <class Operand>
  AMGRAD_HOST_DEVICE constexpr std::int32_t operator()(Operand op, int a, int b) const {
    return inner(op, b, a);
  }
};

}  // namespace amgrad
