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
#include <type_traits>
#include <utility>

#include "amgrad/config.hpp"
#include "amgrad/operand.hpp"

namespace amgrad {
namespace detail {

template <class M, class = void>
struct has_model_members : std::false_type {};
template <class M>
struct has_model_members<M, std::void_t<decltype(M::name), decltype(M::supports_signed)>>
    : std::true_type {};

template <class M, class Operand, class = void>
struct is_callable_model : std::false_type {};
template <class M, class Operand>
struct is_callable_model<
    M, Operand,
    std::void_t<decltype(std::declval<const M&>()(Operand{}, 0, 0))>>
    : std::is_convertible<decltype(std::declval<const M&>()(Operand{}, 0, 0)), std::int64_t> {};

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

}  // namespace detail

// Compile-time check of a (model, operand) pair, with messages a user can act on.
template <class Model, class Operand>
constexpr void check_model() {
  static_assert(is_operand_v<Operand>,
                "amgrad: the second argument must be an amgrad::operand<Bits, Signedness>");
  static_assert(detail::has_model_members<Model>::value,
                "amgrad: a multiplier model needs `static constexpr const char* name` and "
                "`static constexpr bool supports_signed`");
  static_assert(detail::is_callable_model<Model, Operand>::value,
                "amgrad: a multiplier model needs `constexpr int32_t operator()(Operand, int a, "
                "int b) const` returning an integer");
  static_assert(Model::supports_signed || !Operand::is_signed,
                "amgrad: this multiplier model has no signed definition; use an unsigned operand");
}

// Calls a model on two operand values after the compile-time checks.
template <class Operand, class Model>
AMGRAD_HOST_DEVICE constexpr std::int32_t multiply(const Model& model, int a, int b) {
  check_model<Model, Operand>();
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
