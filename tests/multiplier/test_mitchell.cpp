#include <cmath>

#include "properties.hpp"

using namespace amgrad;

// Hand-derived. 3 = 2^1 (1 + 1/2): log sum 1 + 1/2 + 1 + 1/2 = 3 -> antilog 2^3 = 8 (the 1/9
// worst case). 10 = 2^3 (1 + 1/4), 12 = 2^3 (1 + 1/2): 6.75 -> 2^6 * 1.75 = 112.
// 6 = 2^2 (1 + 1/2), 7 = 2^2 (1 + 3/4): 5.25 -> fraction sum >= 1: 2^5 * 1.25 = 40.
static_assert(mitchell{}.unsigned_product(8, 3, 3) == 8);
static_assert(mitchell{}.unsigned_product(8, 10, 12) == 112);
static_assert(mitchell{}.unsigned_product(8, 6, 7) == 40);
static_assert(mitchell{}(s8{}, 0, -5) == 0 && mitchell{}(s8{}, -3, 3) == -8);

namespace {

// Mitchell's definition in floating point: log2 x ~ k + f, antilog y ~ 2^floor(y) (1 + frac y).
// Every intermediate is a short dyadic fraction, so double holds it exactly.
double mitchell_float(int a, int b) {
  if (a == 0 || b == 0) return 0;
  auto log_approx = [](int x) {
    const int k = static_cast<int>(std::floor(std::log2(x)));
    return k + (std::ldexp(double(x), -k) - 1.0);
  };
  const double y = log_approx(a) + log_approx(b);
  const double characteristic = std::floor(y);
  return std::ldexp(1.0 + (y - characteristic), static_cast<int>(characteristic));
}

}  // namespace

TEST_CASE("Mitchell equals its floating-point log/antilog definition") {
  int wrong = 0;
  test::for_all_pairs<u8>(
      [&](int a, int b) { wrong += mitchell{}(u8{}, a, b) != mitchell_float(a, b); });
  CHECK(wrong == 0);
}

TEST_CASE("Mitchell is exact when an operand is a power of two or zero") {
  int wrong = 0;
  for (int p = 1; p < 256; p *= 2)
    for (int x = 0; x < 256; ++x)
      wrong += mitchell{}(u8{}, p, x) != p * x || mitchell{}(u8{}, x, p) != p * x;
  for (int x = 0; x < 256; ++x) wrong += mitchell{}(u8{}, 0, x) != 0 || mitchell{}(u8{}, x, 0) != 0;
  CHECK(wrong == 0);
}

TEST_CASE("Mitchell under-estimates by at most 1/9 of the product, reached at 3 * 2^i x 3 * 2^j") {
  int over = 0;
  double worst = 0;
  test::for_all_pairs<u8>([&](int a, int b) {
    const int p = mitchell{}(u8{}, a, b);
    over += p > a * b;
    if (a * b > 0) worst = std::max(worst, (a * b - p) / double(a * b));
  });
  CHECK(over == 0);
  CHECK(worst == doctest::Approx(1.0 / 9.0).epsilon(1e-12));
  CHECK(mitchell{}(u8{}, 48, 96) == 8 * 48 * 96 / 9);
}

TEST_CASE("Mitchell is commutative and sign-magnitude") {
  int wrong = 0;
  test::for_all_pairs<u8>(
      [&](int a, int b) { wrong += mitchell{}(u8{}, a, b) != mitchell{}(u8{}, b, a); });
  CHECK(wrong == 0);
  test::check_sign_magnitude<8>(mitchell{});
  test::check_sign_magnitude<4>(mitchell{});
}
