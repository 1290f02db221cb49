#include "properties.hpp"

using namespace amgrad;

// Hand-derived: rows 1 and 2 of 15 * 15 are omitted: 15 * 1001b = 135.
static_assert(perforated{1, 2}.unsigned_product(4, 15, 15) == 135);
static_assert(perforated{0, 8}(u8{}, 200, 255) == 0);
static_assert(perforated{3, 0}(u8{}, 200, 255) == 200 * 255);
static_assert(!perforated::supports_signed && !test::model_supports<perforated, s4>);

TEST_CASE("perforation sums exactly the rows that are not omitted") {
  int wrong = 0;
  for (int first = 0; first < 8; ++first)
    for (int count = 0; first + count <= 8; ++count) {
      const perforated model{first, count};
      test::for_all_pairs<u8>([&](int a, int b) {
        int expected = 0;
        for (int i = 0; i < 8; ++i)
          if ((i < first || i >= first + count) && ((b >> i) & 1)) expected += a << i;
        wrong += model(u8{}, a, b) != expected;
      });
    }
  CHECK(wrong == 0);
}

TEST_CASE("perforation under-estimates by at most a * (2^count - 1) * 2^first") {
  for (auto [first, count] : {std::pair{0, 2}, std::pair{2, 3}, std::pair{5, 3}}) {
    CAPTURE(first);
    CAPTURE(count);
    const perforated model{first, count};
    const int bound_factor = ((1 << count) - 1) << first;
    int outside = 0, worst = 0;
    test::for_all_pairs<u8>([&](int a, int b) {
      const int error = a * b - model(u8{}, a, b);
      outside += error < 0 || error > a * bound_factor;
      worst = std::max(worst, error);
    });
    CHECK(outside == 0);
    CHECK(worst == 255 * bound_factor);  // reached by b with all perforated bits set
  }
}

TEST_CASE("perforation rejects rows outside the 8 partial products") {
  CHECK_THROWS_WITH_AS(perforated(-1, 2), doctest::Contains("rows [-1, 1)"), amgrad::error);
  CHECK_THROWS_AS(perforated(0, -1), amgrad::error);
  CHECK_THROWS_AS(perforated(6, 3), amgrad::error);
  CHECK_NOTHROW(perforated(0, 8));
}
