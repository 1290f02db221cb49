#pragma once
// Broken-array multiplier (BAM): H. R. Mahdiani, A. Ahmadi, S. M. Fakhraie, C. Lucas,
// "Bio-inspired imprecise computational blocks for efficient VLSI implementation of
// soft-computing applications", IEEE TCAS-I 57(4), 2010.
//
// The BAM removes the carry-save adder cells of an array multiplier that lie on one side of two
// break lines. Our reading, as a function on partial-product bits: the array has one row per bit
// of b (row i holds a * b_i, shifted by i) and one column per product weight (bit a_j b_i sits in
// column i + j). A bit is summed iff
//     i >= hbl          (horizontal break level: the hbl least significant rows are omitted), and
//     i + j >= vbl      (vertical break level: the vbl least significant columns are omitted).
// Omitted cells contribute nothing, and the kept bits are added exactly. bam{0, 0} is the exact
// multiplier and bam{0, k} is truncated{k}. Signed operands use sign-magnitude (the paper's
// array is unsigned; the magnitudes go through the same B-bit array).
#include <array>

#include "amgrad/error.hpp"
#include "amgrad/multiplier/model.hpp"

namespace amgrad {

struct bam {
  static constexpr const char* name = "bam";
  static constexpr bool supports_signed = true;  // sign-magnitude
  // Constructor arguments, in order: tools spell the model "bam:hbl,vbl".
  static constexpr std::array<const char*, 2> parameters{"hbl", "vbl"};

  int hbl = 0;  // rows i < hbl (bits of b) are omitted
  int vbl = 0;  // columns i + j < vbl are omitted

  constexpr bam(int horizontal_break, int vertical_break)
      : hbl(horizontal_break), vbl(vertical_break) {
    detail::require_in_range("amgrad::bam", "horizontal break level hbl", hbl, 0, max_bits);
    detail::require_in_range("amgrad::bam", "vertical break level vbl", vbl, 0, 2 * max_bits);
  }

  AMGRAD_HOST_DEVICE constexpr std::uint32_t unsigned_product(int bits, std::uint32_t a,
                                                              std::uint32_t b) const {
    std::uint32_t sum = 0;
    for (int i = hbl; i < bits; ++i)  // row i: the partial product a * b_i
      if ((b >> i) & 1u)
        for (int j = 0; j < bits; ++j)
          if (i + j >= vbl && ((a >> j) & 1u)) sum += 1u << (i + j);
    return sum;
  }

  template <class Operand>
  AMGRAD_HOST_DEVICE constexpr std::int32_t operator()(Operand, int a, int b) const {
    return detail::sign_magnitude(*this, Operand::bits, a, b);
  }
};

}  // namespace amgrad
