#include "properties.hpp"

using namespace amgrad;

// Hand-derived: 3 * 3 has partial-product bits in columns 0 (one), 1 (two) and 2 (one); dropping
// columns 0 and 1 leaves 4. 15 * 15 (4 bits) has 1, 2, 3, 4, 3, 2, 1 bits in columns 0..6; keeping
// columns 4..6 leaves 3*16 + 2*32 + 64 = 176.
static_assert(truncated{2}.unsigned_product(4, 3, 3) == 4);
static_assert(truncated{4}.unsigned_product(4, 15, 15) == 176);
static_assert(truncated{4}(s4{}, -7, 7) == -truncated{4}(u4{}, 7, 7));
static_assert(product_array<u4>(truncated{0})[15 * 16 + 15] == 225);

TEST_CASE("truncated{0} is exact") {
  int wrong = 0;
  test::for_all_pairs<s8>([&](int a, int b) { wrong += truncated{0}(s8{}, a, b) != a * b; });
  test::for_all_pairs<u8>([&](int a, int b) { wrong += truncated{0}(u8{}, a, b) != a * b; });
  CHECK(wrong == 0);
}

TEST_CASE("truncated{k} under-estimates by at most the value of the dropped columns") {
  // Column c < B holds c + 1 bits, so the dropped part is at most sum_{c<k} (c+1) 2^c =
  // (k-1) 2^k + 1, and that bound is reached by a = b = 2^B - 1.
  for (int k = 1; k <= 8; ++k) {
    CAPTURE(k);
    const truncated model{k};
    const int bound = (k - 1) * (1 << k) + 1;
    int outside = 0, worst = 0;
    test::for_all_pairs<u8>([&](int a, int b) {
      const int error = a * b - model(u8{}, a, b);
      outside += error < 0 || error > bound;
      worst = std::max(worst, error);
    });
    CHECK(outside == 0);
    CHECK(worst == bound);
  }
}

TEST_CASE("truncated is sign-magnitude") {
  test::check_sign_magnitude<8>(truncated{5});
  test::check_sign_magnitude<5>(truncated{3});
}

TEST_CASE("truncated rejects a column count outside [0, 16]") {
  CHECK_THROWS_WITH_AS(truncated{-1}, doctest::Contains("k = -1"), amgrad::error);
  CHECK_THROWS_AS(truncated{17}, amgrad::error);
  CHECK_NOTHROW(truncated{16});
}
