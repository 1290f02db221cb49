// Error metrics on hand-built tables whose metrics are worked out by hand below.
#include <doctest/doctest.h>

#include <utility>

#include "amgrad/amgrad.hpp"
#include "amgrad/table/metrics.hpp"

using namespace amgrad;

namespace {
product_table exact_table(operand_format f) {
  product_table t(f);
  for (int a = 0; a < f.size(); ++a)
    for (int b = 0; b < f.size(); ++b) t(a, b) = f.value(a) * f.value(b);
  return t;
}
}  // namespace

TEST_CASE("metrics of the exact multiplier are all zero") {
  for (const operand_format f : {operand_format{2, false}, operand_format{8, false},
                                 operand_format{7, true}}) {
    const auto m = metrics(exact_table(f));
    CHECK(m.pairs == static_cast<std::size_t>(f.size() * f.size()));
    CHECK(m.error_rate == 0);
    CHECK(m.med == 0);
    CHECK(m.nmed_over_2_pow_2b == 0);
    CHECK(m.nmed_over_max_product == 0);
    CHECK(m.max_product > 0);
    CHECK(m.mred == 0);
    CHECK(m.wce == 0);
    CHECK(m.bias == 0);
    CHECK(m.mse == 0);
  }
}

TEST_CASE("metrics of a 2-bit unsigned table with two wrong entries") {
  auto t = exact_table({2, false});
  t(3, 3) = 12;  // (a, b) = (3, 3): 9 -> 12, error +3, relative 3/9
  t(1, 2) = 1;  // (1, 2): 2 -> 1, error -1, relative 1/2
  const auto m = metrics(t);
  CHECK(m.error_rate == doctest::Approx(2.0 / 16));
  CHECK(m.med == doctest::Approx(4.0 / 16));
  CHECK(m.nmed_over_2_pow_2b == doctest::Approx(4.0 / 16 / 16));
  CHECK(m.max_product == 9);  // 3 * 3
  CHECK(m.nmed_over_max_product == doctest::Approx(4.0 / 16 / 9));
  CHECK(m.mred_pairs == 9);  // a, b in 1..3
  CHECK(m.mred == doctest::Approx((3.0 / 9 + 1.0 / 2) / 9));
  CHECK(m.wce == 3);
  CHECK(m.bias == doctest::Approx(2.0 / 16));
  CHECK(m.mse == doctest::Approx(10.0 / 16));
}

TEST_CASE("metrics of a 2-bit signed table use operand values") {
  auto t = exact_table({2, true});  // values -2..1; code 0 is -2
  t(0, 0) = 5;                      // (-2, -2): 4 -> 5
  t(1, 3) = -3;                     // (-1, 1): -1 -> -3
  const auto m = metrics(t);
  CHECK(m.error_rate == doctest::Approx(2.0 / 16));
  CHECK(m.med == doctest::Approx(3.0 / 16));
  // The largest |a*b| of s2 is (-2)(-2) = 4 = 2^(2B-2), not (2^B-1)^2 = 9.
  CHECK(m.max_product == 4);
  CHECK(m.nmed_over_max_product == doctest::Approx(3.0 / 16 / 4));
  CHECK(m.nmed_over_2_pow_2b == doctest::Approx(3.0 / 16 / 16));
  CHECK(m.mred_pairs == 9);  // a, b in {-2, -1, 1}
  CHECK(m.mred == doctest::Approx((1.0 / 4 + 2.0 / 1) / 9));
  CHECK(m.wce == 2);
  CHECK(m.bias == doctest::Approx(-1.0 / 16));
  CHECK(m.mse == doctest::Approx(5.0 / 16));
}

TEST_CASE("metrics: the largest product of each operand format normalises NMED") {
  for (const auto& [f, max_product] : {std::pair{operand_format{8, false}, 65025},
                                       std::pair{operand_format{8, true}, 16384},
                                       std::pair{operand_format{7, true}, 4096},
                                       std::pair{operand_format{3, false}, 49}}) {
    CAPTURE(to_string(f));
    auto t = exact_table(f);
    t(1, 1) += 64;  // one error of 64: MED = 64 / 4^B
    const auto m = metrics(t);
    const double med = 64.0 / (f.size() * f.size());
    CHECK(m.max_product == max_product);
    CHECK(m.med == doctest::Approx(med));
    CHECK(m.nmed_over_max_product == doctest::Approx(med / max_product));
    CHECK(m.nmed_over_2_pow_2b == doctest::Approx(med / (f.size() * f.size())));
  }
}

TEST_CASE("metrics refuse an empty table") {
  CHECK_THROWS_AS(metrics(product_table{}), amgrad::error);
}
