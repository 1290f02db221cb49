#include "support.hpp"

#include <cmath>

using namespace amgrad;

namespace {

// Eq. 4-6 in float64, written independently of the library: the ground truth the float32
// implementation must follow up to rounding.
double lut2d_da_f64(const product_table& lut, int hws, int a, int b) {
  const int n = lut.side();
  if (a > hws && a < n - 1 - hws) {
    auto smooth = [&](int x) {
      double s = 0;
      for (int d = -hws; d <= hws; ++d) s += lut(x + d, b);
      return s / (2 * hws + 1);
    };
    return (smooth(a + 1) - smooth(a - 1)) / 2;
  }
  double lo = lut(0, b), hi = lut(0, b);
  for (int x = 0; x < n; ++x) lo = std::min<double>(lo, lut(x, b)), hi = std::max<double>(hi, lut(x, b));
  // (max - min) has no sign; the slope's sign is that of AM(a_max, b) - AM(a_min, b).
  return (lut(n - 1, b) < lut(0, b) ? -1.0 : 1.0) * (hi - lo) / n;
}

}  // namespace

TEST_CASE("default half window follows the paper: 32 at 8 bits, 16 at 7, halved below") {
  CHECK(default_hws(8) == 32);
  CHECK(default_hws(7) == 16);
  CHECK(default_hws(6) == 8);
  CHECK(default_hws(2) == 1);
  CHECK(lut2d{}.resolved_hws(u8::format) == 32);
  CHECK(lut2d{4}.resolved_hws(u8::format) == 4);
  lut2d runtime_override;
  runtime_override.hws = 7;
  CHECK(runtime_override.resolved_hws(u8::format) == 7);
}

TEST_CASE("exact multiplier: LUT-2D equals STE in the interior, LUT-1D is STE scaled by (2^B-1)/2^B") {
  hana::for_each(test::all_operands, [](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    const auto lut = make_product_table<Op>(exact{});
    const auto s = ste{}.tables(lut);
    const int hws = default_hws(Op::bits);
    const auto g2 = lut2d{}.tables(lut);
    for (int a = hws + 1; a < Op::size - 1 - hws; ++a)
      for (int b = 0; b < Op::size; ++b) {
        REQUIRE(g2.da(a, b) == s.da(a, b));
        REQUIRE(g2.db(b, a) == s.db(b, a));
      }
    const double factor = double(Op::size - 1) / Op::size;
    const auto g1 = lut1d{}.factors(lut);
    const auto secant = lut1d{rate_rule::secant}.factors(lut);
    const auto least_squares = lut1d{rate_rule::least_squares}.factors(lut);
    for (int c = 0; c < Op::size; ++c) {
      const double v = Op::value(c);
      REQUIRE(g1.da_of_b[c] == doctest::Approx(v * factor).epsilon(1e-6));
      REQUIRE(g1.db_of_a[c] == doctest::Approx(v * factor).epsilon(1e-6));
      REQUIRE(secant.da_of_b[c] == doctest::Approx(v));
      REQUIRE(least_squares.db_of_a[c] == doctest::Approx(v));
    }
  });
}

TEST_CASE("signed operands: LUT-2D's boundary bands carry the slope's sign (exact: b (2^B-1)/2^B)") {
  hana::for_each(test::all_operands, [](auto t) {
    using Op = typename decltype(t)::type;
    if constexpr (Op::is_signed) {
      CAPTURE(to_string(Op::format));
      const auto lut = make_product_table<Op>(exact{});
      const int hws = default_hws(Op::bits);
      const auto g = lut2d{}.tables(lut);
      const double factor = double(Op::size - 1) / Op::size;
      int wrong = 0;
      for (int a = 0; a < Op::size; ++a)
        for (int b = 0; b < Op::size; ++b) {
          const bool interior = a > hws && a < Op::size - 1 - hws;
          const bool interior_b = b > hws && b < Op::size - 1 - hws;
          if (!interior)
            wrong += std::abs(g.da(a, b) - Op::value(b) * factor) > 1e-4 * Op::size;
          if (!interior_b)
            wrong += std::abs(g.db(a, b) - Op::value(a) * factor) > 1e-4 * Op::size;
        }
      CHECK(wrong == 0);
      // LUT-1D's LUT-2D-mean rule inherits the sign: the column means have the sign of b.
      const auto mean = lut1d{rate_rule::lut2d_mean}.factors(lut);
      for (int c = 0; c < Op::size; ++c) {
        if (Op::value(c) == 0) continue;
        CHECK((mean.da_of_b[c] > 0) == (Op::value(c) > 0));
        CHECK((mean.db_of_a[c] > 0) == (Op::value(c) > 0));
      }
    }
  });
}

TEST_CASE("signed approximate multipliers: LUT-2D follows Eq. 4-6 with the sign-correct boundary") {
  const auto lut = make_product_table<s6>(drum{3});
  for (int hws : {1, 4, 8}) {
    CAPTURE(hws);
    const auto g = lut2d{hws}.tables(lut);
    for (int a = 0; a < lut.side(); ++a)
      for (int b = 0; b < lut.side(); ++b)
        REQUIRE(g.da(a, b) == doctest::Approx(lut2d_da_f64(lut, hws, a, b)).epsilon(1e-5));
  }
}

TEST_CASE("LUT-2D follows Eq. 4-6 on an approximate multiplier, boundary per Eq. 6 (column b)") {
  const auto lut = make_product_table<u7>(truncated{5});
  for (int hws : {0, 2, 4, 16}) {
    CAPTURE(hws);
    const auto g = lut2d{hws}.tables(lut);
    for (int a = 0; a < lut.side(); ++a)
      for (int b = 0; b < lut.side(); b += 3)
        REQUIRE(g.da(a, b) == doctest::Approx(lut2d_da_f64(lut, hws, a, b)).epsilon(1e-5));
  }
}

TEST_CASE("the published boundary rule takes row b, unsigned, for dAM/da; dAM/db differs in sign only") {
  // A non-commutative table, so row b and column b differ.
  const auto lut = make_product_table<u6>(make_model([](int a, int b) { return a * (b | 1); }));
  const auto model = make_product_table<u6>(
      make_model([](int a, int b) { return a * b + (a > 40 ? 3 * b : 0) - (b & 5); }));
  for (const auto* table : {&lut, &model}) {
    const int hws = 4;
    const auto eq6 = lut2d{hws, boundary_rule::eq6}.tables(*table);
    const auto published = lut2d{hws, boundary_rule::published}.tables(*table);
    // dAM/db: the same (max - min)/2^B of row a; Eq. 6 here signs it by the row's change.
    for (int a = 0; a < 64; ++a)
      for (int b = 0; b < 64; ++b) {
        const bool falls = (*table)(a, 63) < (*table)(a, 0);
        REQUIRE(eq6.db(a, b) == (falls && !(b > hws && b < 63 - hws) ? -published.db(a, b)
                                                                     : published.db(a, b)));
      }
    int differing = 0;
    for (int a = 0; a < 64; ++a)
      for (int b = 0; b < 64; ++b) {
        const bool interior = a > hws && a < 63 - hws;
        if (interior) {
          REQUIRE(eq6.da(a, b) == published.da(a, b));
          continue;
        }
        int lo = (*table)(b, 0), hi = lo;  // row b
        for (int x = 0; x < 64; ++x) lo = std::min(lo, (*table)(b, x)), hi = std::max(hi, (*table)(b, x));
        REQUIRE(published.da(a, b) == float(hi - lo) / 64.0f);
        differing += eq6.da(a, b) != published.da(a, b);
      }
    CHECK(differing > 0);
  }
}

TEST_CASE("signed LUT-1D keeps the sign that (max - min) loses") {
  const auto lut = make_product_table<s6>(exact{});
  const auto g = lut1d{}.factors(lut);
  CHECK(g.da_of_b[s6::code(-5)] < 0);
  CHECK(g.da_of_b[s6::code(5)] > 0);
  CHECK(g.da_of_b[s6::code(0)] == 0);
}

TEST_CASE("LUT-1D lut2d_mean rule is the column mean of the LUT-2D gradient") {
  const auto lut = make_product_table<u6>(truncated{4});
  const auto full = lut2d{3}.tables(lut);
  const auto g = lut1d{rate_rule::lut2d_mean, 3}.factors(lut);
  for (int b = 0; b < 64; ++b) {
    double s = 0;
    for (int a = 0; a < 64; ++a) s += full.da(a, b);
    CHECK(g.da_of_b[b] == doctest::Approx(s / 64).epsilon(1e-6));
  }
}

TEST_CASE("half window sizes that do not fit the table are refused") {
  const auto lut = make_product_table<u4>(exact{});
  CHECK_THROWS_WITH_AS(lut2d{8}.tables(lut), doctest::Contains("half window size 8"), amgrad::error);
  CHECK_THROWS_AS(lut2d{-3}.tables(lut), amgrad::error);
  CHECK_NOTHROW(lut2d{7}.tables(lut));
}

TEST_CASE("fixed point x16 rounds half to even and refuses what int16 cannot hold") {
  gradient_table g(operand_format{2, false});
  g(0, 0) = 0.03125f;   // 0.5  -> 0
  g(0, 1) = 0.09375f;   // 1.5  -> 2
  g(0, 2) = -0.15625f;  // -2.5 -> -2
  g(0, 3) = 127.5f;     // 2040
  const auto q = to_fixed_point(g);
  CHECK(q(0, 0) == 0);
  CHECK(q(0, 1) == 2);
  CHECK(q(0, 2) == -2);
  CHECK(q(0, 3) == 2040);
  g(1, 1) = 4096.0f;  // 65536 does not fit
  CHECK_THROWS_WITH_AS(to_fixed_point(g), doctest::Contains("does not fit int16"), amgrad::error);
  g(1, 1) = std::nanf("");
  CHECK_THROWS_AS(to_fixed_point(g), amgrad::error);
  CHECK_THROWS_AS(to_fixed_point(gradient_table(operand_format{2, false}), 0.0), amgrad::error);
}
