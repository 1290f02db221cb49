#include "properties.hpp"

using namespace amgrad;
using u5 = unsigned_operand<5>;

// Hand-derived. etm{2}, 4 bits: 7 = 01|11, 6 = 01|10: high 1*1 << 4 = 16; low parts 11 | 10 have
// their first 1 at position 1, so product bits 3..0 are set: 16 + 15 = 31. 3 * 2: both high parts
// zero, exact 6. 4 * 1: high 1 * 0 = 0; low 00 | 01 -> bits 2..0 set: 7.
// etm{4}, 8 bits: 1011|0110 x 0101|1010: 11 * 5 << 8 = 14080; 0110 | 1010 = 1110: bits 7..0 set:
// 14335 (exact 16380).
static_assert(etm{2}.unsigned_product(4, 7, 6) == 31);
static_assert(etm{2}.unsigned_product(4, 3, 2) == 6);
static_assert(etm{2}.unsigned_product(4, 4, 1) == 7);
static_assert(etm{4}(u8{}, 0xB6, 0x5A) == 14335);
static_assert(!etm::supports_signed && !test::model_supports<etm, s8> && test::model_supports<etm, u8>);

namespace {

// The paper's procedure, step by step: control, multiplication part, and the left-to-right scan
// of the non-multiplication part (operand bit i drives product bit k + i; once a 1 is seen every
// lower product bit is 1, down to bit 0).
int etm_by_steps(int k, int a, int b) {
  const int mask = (1 << k) - 1;
  if ((a >> k) == 0 && (b >> k) == 0) return (a & mask) * (b & mask);
  int product = ((a >> k) * (b >> k)) << (2 * k);
  bool seen = false;
  for (int i = k - 1; i >= 0; --i) {
    seen = seen || ((a >> i) & 1) || ((b >> i) & 1);
    if (seen) product |= 1 << (k + i);
  }
  if (seen) product |= (1 << k) - 1;
  return product;
}

}  // namespace

TEST_CASE("ETM follows the paper's control, multiplication and non-multiplication parts") {
  int wrong = 0;
  for (int k = 0; k <= 8; ++k) {
    const etm model{k};
    test::for_all_pairs<u8>([&](int a, int b) { wrong += model(u8{}, a, b) != etm_by_steps(k, a, b); });
    test::for_all_pairs<u5>([&](int a, int b) { wrong += model(u5{}, a, b) != etm_by_steps(k, a, b); });
  }
  CHECK(wrong == 0);
}

TEST_CASE("ETM is exact for k = 0, for k >= B, and when both operands are below 2^k") {
  int wrong = 0;
  test::for_all_pairs<u8>([&](int a, int b) {
    wrong += etm{0}(u8{}, a, b) != a * b || etm{8}(u8{}, a, b) != a * b;
    if (a < 16 && b < 16) wrong += etm{4}(u8{}, a, b) != a * b;
  });
  test::for_all_pairs<u6>([&](int a, int b) { wrong += etm{7}(u6{}, a, b) != a * b; });
  CHECK(wrong == 0);
}

TEST_CASE("ETM keeps the product of the high parts exact above bit 2k") {
  int wrong = 0;
  test::for_all_pairs<u8>([&](int a, int b) {
    if (a < 8 && b < 8) return;
    wrong += (etm{3}(u8{}, a, b) >> 6) != (a >> 3) * (b >> 3);
  });
  CHECK(wrong == 0);
}

TEST_CASE("ETM rejects k outside [0, 8]") {
  CHECK_THROWS_WITH_AS(etm{-1}, doctest::Contains("k = -1"), amgrad::error);
  CHECK_THROWS_AS(etm{9}, amgrad::error);
}
