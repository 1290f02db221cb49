#include "properties.hpp"

using namespace amgrad;

// Hand-derived, 4 bits, a = b = 15, hbl = 1, vbl = 3: row 1 keeps columns 3, 4 (24), row 2 keeps
// columns 3..5 (56), row 3 keeps columns 3..6 (120), row 0 is omitted: 200.
static_assert(bam{1, 3}.unsigned_product(4, 15, 15) == 200);
static_assert(bam{1, 3}(s4{}, -8, 7) == -bam{1, 3}(u4{}, 8, 7));
static_assert(bam{0, 0}(u4{}, 13, 11) == 143);

TEST_CASE("bam{0, 0} is exact, bam{0, v} is truncated{v}, bam{h, 0} clears the low h bits of b") {
  int wrong = 0;
  test::for_all_pairs<u8>([&](int a, int b) {
    wrong += bam{0, 0}(u8{}, a, b) != a * b;
    for (int v : {1, 5, 9}) wrong += bam{0, v}(u8{}, a, b) != truncated{v}(u8{}, a, b);
    for (int h : {1, 3, 8}) wrong += bam{h, 0}(u8{}, a, b) != a * ((b >> h) << h);
  });
  CHECK(wrong == 0);
}

TEST_CASE("bam under-estimates by exactly the omitted partial-product bits") {
  // Independent accounting: the exact product minus each omitted bit a_j b_i 2^(i+j).
  const bam model{2, 6};
  int wrong = 0;
  test::for_all_pairs<u7>([&](int a, int b) {
    int expected = a * b;
    for (int i = 0; i < 7; ++i)
      for (int j = 0; j < 7; ++j)
        if ((i < 2 || i + j < 6) && ((a >> j) & 1) && ((b >> i) & 1)) expected -= 1 << (i + j);
    wrong += model(u7{}, a, b) != expected;
  });
  CHECK(wrong == 0);
}

TEST_CASE("bam is sign-magnitude") {
  test::check_sign_magnitude<8>(bam{2, 7});
  test::check_sign_magnitude<6>(bam{1, 2});
}

TEST_CASE("bam rejects break levels outside the array") {
  CHECK_THROWS_WITH_AS(bam(-1, 0), doctest::Contains("hbl = -1"), amgrad::error);
  CHECK_THROWS_WITH_AS(bam(9, 0), doctest::Contains("hbl = 9"), amgrad::error);
  CHECK_THROWS_WITH_AS(bam(0, 17), doctest::Contains("vbl = 17"), amgrad::error);
  CHECK_THROWS_AS(bam(0, -2), amgrad::error);
  CHECK_NOTHROW(bam(8, 16));
}
