#include <cmath>

#include "properties.hpp"

using namespace amgrad;

// Hand-derived. DRUM(3): 13 = 1101b keeps 110b, forces its LSB to 1 -> 111b, shifts back -> 14;
// 6 = 110b has only 3 bits and stays 6: 84. DRUM(4): 200 = 11001000b -> 1101b << 4 = 208,
// 100 = 1100100b -> 1101b << 3 = 104: 21632.
static_assert(drum{3}.unsigned_product(8, 13, 6) == 84);
static_assert(drum{4}.unsigned_product(8, 200, 100) == 21632);
static_assert(drum{4}(s8{}, -100, 127) == -drum{4}(u8{}, 100, 127));
static_assert(drum{3}.approximate(16) == 20 && drum{3}.approximate(7) == 7);

TEST_CASE("DRUM is exact for operands with at most k significant bits, and for k >= B") {
  int wrong = 0;
  for (int k = 2; k <= 7; ++k)
    for (int a = 0; a < (1 << k); ++a)
      for (int b = 0; b < (1 << k); ++b) wrong += drum{k}(u8{}, a, b) != a * b;
  test::for_all_pairs<u8>([&](int a, int b) { wrong += drum{8}(u8{}, a, b) != a * b; });
  test::for_all_pairs<s7>([&](int a, int b) { wrong += drum{7}(s7{}, a, b) != a * b; });
  test::for_all_pairs<u6>([&](int a, int b) { wrong += drum{6}(u6{}, a, b) != a * b; });
  CHECK(wrong == 0);
}

TEST_CASE("DRUM's relative error stays within (1 + 2^-(k-1))^2 - 1 and reaches it") {
  // Per operand, |x' - x| <= 2^-(k-1) x, attained by x = 2^k -> 2^k + 2 (both operands
  // over-estimated), so the product's bound is tight whenever 2^k is an operand value.
  for (int k = 3; k <= 7; ++k) {
    CAPTURE(k);
    const drum model{k};
    const double bound = std::pow(1.0 + std::ldexp(1.0, 1 - k), 2) - 1.0;
    double worst = 0;
    test::for_all_pairs<u8>([&](int a, int b) {
      if (a == 0 || b == 0) return;
      worst = std::max(worst, std::abs(model(u8{}, a, b) - a * b) / double(a * b));
    });
    CHECK(worst <= bound * (1 + 1e-12));
    CHECK(worst == doctest::Approx(bound).epsilon(1e-12));
  }
}

TEST_CASE("DRUM's forced LSB centres the operand error: +1/2 on average instead of -(2^s-1)/2") {
  // Over the 2^(L-1) operands of bit length L > k, s = L - k bits are dropped. Plain truncation
  // errs by -r, r uniform in [0, 2^s); forcing the kept LSB to 1 adds 2^s exactly when that bit
  // was 0 (half of the operands), so the mean error is 2^(s-1) - (2^s - 1)/2 = +1/2.
  for (int k = 2; k <= 7; ++k)
    for (int length = k + 1; length <= 8; ++length) {
      CAPTURE(k);
      CAPTURE(length);
      const drum model{k};
      long long drum_sum = 0, truncation_sum = 0;
      const int s = length - k;
      for (int x = 1 << (length - 1); x < (1 << length); ++x) {
        drum_sum += static_cast<long long>(model.approximate(static_cast<std::uint32_t>(x))) - x;
        truncation_sum += ((x >> s) << s) - x;
      }
      const long long count = 1 << (length - 1);
      CHECK(2 * drum_sum == count);
      CHECK(2 * truncation_sum == -count * ((1 << s) - 1));
    }
}

TEST_CASE("DRUM treats both operands alike") {
  const drum model{4};
  int wrong = 0;
  test::for_all_pairs<u8>([&](int a, int b) { wrong += model(u8{}, a, b) != model(u8{}, b, a); });
  CHECK(wrong == 0);
}

TEST_CASE("DRUM is sign-magnitude") {
  test::check_sign_magnitude<8>(drum{3});
  test::check_sign_magnitude<7>(drum{5});
}

TEST_CASE("DRUM rejects k outside [2, 16]") {
  CHECK_THROWS_WITH_AS(drum{1}, doctest::Contains("k = 1"), amgrad::error);
  CHECK_THROWS_AS(drum{17}, amgrad::error);
  CHECK_NOTHROW(drum{2});
}
