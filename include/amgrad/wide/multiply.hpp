#pragma once
// Every analytic model at 9..16 bits. The models' `unsigned_product(bits, a, b)` cores are
// written for any width whose product fits 32 bits (checked per model below); the library's
// `operator()(Operand, a, b)` returns int32, which a 16-bit unsigned product (up to
// (2^16-1)^2) overflows, so the wide path calls the cores and returns int64:
//   exact        a * b (two's complement for signed operands)
//   truncated k  columns i + j < k dropped; k <= 16 (the constructor's range), of 2B-1 columns
//   bam hbl,vbl  hbl <= 8 and vbl <= 16 (constructor ranges): break lines in the low half only
//   drum k       k <= 16 kept bits
//   mitchell     any width (integer mantissas of up to B-1 bits, no rounding)
//   kulkarni     2x2 blocks over ceil(B/2) digits (odd widths zero-extended, as for 2..8 bits)
//   etm k        unsigned only; k <= 8 (constructor range) low bits non-multiplied
//   perforated   the perforated partial products lie within the first 8 (constructor range)
// Signed operands use the models' sign-magnitude extension (the published designs are
// unsigned; DRUM, Mitchell, Kulkarni, BAM and truncation are defined for any width n in their
// papers, ETM and perforation for the widths their authors list (8, 12, 16 bits), with our
// reading of the low part/perforated rows for the others).
#include <bit>
#include <cstdint>
#include <type_traits>

#include "amgrad/multiplier/drum.hpp"
#include "amgrad/multiplier/exact.hpp"
#include "amgrad/multiplier/mitchell.hpp"
#include "amgrad/multiplier/truncated.hpp"
#include "amgrad/multiplier/model.hpp"

namespace amgrad::wide {

template <class Model>
concept has_unsigned_core = requires(const Model& m, std::uint32_t a) {
  { m.unsigned_product(16, a, a) };
};

// Fast unsigned cores for the models whose definition loops over bits (bit_length, columns):
// the same arithmetic with std::bit_width and one pass over the rows, so column scans and the
// forward loop run at machine speed. Each equals the model's own unsigned_product (tested on
// every pair at 8 bits and random pairs at 12 and 16).
template <class Model>
constexpr std::uint32_t fast_unsigned_product(const Model& model, int bits, std::uint32_t a,
                                              std::uint32_t b) {
  if constexpr (std::is_same_v<Model, amgrad::drum>) {
    const auto approximate = [k = model.k](std::uint32_t x) {
      const int length = static_cast<int>(std::bit_width(x));
      if (length <= k) return x;
      const int dropped = length - k;
      return ((x >> dropped) | 1u) << dropped;
    };
    return approximate(a) * approximate(b);
  } else if constexpr (std::is_same_v<Model, amgrad::mitchell>) {
    if (a == 0 || b == 0) return 0;
    const int ka = static_cast<int>(std::bit_width(a)) - 1, kb = static_cast<int>(std::bit_width(b)) - 1;
    const std::uint32_t scale = 1u << (ka + kb);
    const std::uint32_t fraction_sum = ((a - (1u << ka)) << kb) + ((b - (1u << kb)) << ka);
    return fraction_sum < scale ? scale + fraction_sum : 2u * fraction_sum;
  } else if constexpr (std::is_same_v<Model, amgrad::truncated>) {
    // row i (bit i of a) keeps the bits j of b with i + j >= k
    std::uint32_t sum = 0;
    const std::uint32_t all = (bits >= 32 ? ~0u : (1u << bits) - 1u);
    for (int i = 0; i < bits; ++i) {
      const int drop = model.columns - i;
      const std::uint32_t keep = drop <= 0 ? all : drop >= bits ? 0u : all & ~((1u << drop) - 1u);
      sum += (((a >> i) & 1u) ? (b & keep) : 0u) << i;
    }
    return sum;
  } else {
    return model.unsigned_product(bits, a, b);
  }
}

// AM(a, b) on operand values of a B-bit operand (run-time width; 2..16).
template <class Model>
constexpr std::int64_t multiply_bits(const Model& model, int bits, bool is_signed, int a, int b) {
  if constexpr (std::is_same_v<Model, amgrad::exact>) {
    (void)model;
    (void)bits;
    (void)is_signed;
    return std::int64_t{a} * b;
  } else {
    static_assert(has_unsigned_core<Model>,
                  "amgrad::wide: the model needs `unsigned_product(int bits, uint32_t, uint32_t)` "
                  "to be evaluated at widths above 8 bits");
    if (!is_signed)
      return static_cast<std::int64_t>(fast_unsigned_product(
          model, bits, static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b)));
    const bool negative = (a < 0) != (b < 0);
    const auto ma = static_cast<std::uint32_t>(a < 0 ? -a : a);
    const auto mb = static_cast<std::uint32_t>(b < 0 ? -b : b);
    const auto magnitude = static_cast<std::int64_t>(fast_unsigned_product(model, bits, ma, mb));
    return negative ? -magnitude : magnitude;
  }
}

template <class Operand, class Model>
constexpr std::int64_t multiply(const Model& model, int a, int b) {
  static_assert(!Operand::is_signed || Model::supports_signed,
                "amgrad::wide: this multiplier model has no signed definition; use an unsigned "
                "operand");
  return multiply_bits(model, Operand::bits, Operand::is_signed, a, b);
}

}  // namespace amgrad::wide
