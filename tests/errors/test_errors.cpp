// Every row of the README's error table: the bad input, and the message a user sees. The
// messages are checked by substring, as the README quotes them.
#include <cmath>
#include <limits>

#include "support.hpp"

using namespace amgrad;

namespace {
template <class F>
void check_message(F&& f, const char* expected) {
  CAPTURE(expected);
  CHECK_THROWS_WITH_AS(f(), doctest::Contains(expected), amgrad::error);
}
}  // namespace

TEST_CASE("README error table: kernels and engines") {
  const appmult<truncated, u7, lut2d> engine(truncated{6});
  std::vector<code_t> a(6, 1), b(8, 1);
  std::vector<std::int32_t> y(4);
  check_message([&] { engine.forward(row_major<const code_t>(a.data(), 2, 3),
                                     row_major<const code_t>(b.data(), 4, 2),
                                     row_major(y.data(), 2, 2)); },
                "inner dimensions differ: A is 2x3, B is 4x2");
  a[1] = 200;
  check_message([&] { engine.forward(row_major<const code_t>(a.data(), 2, 3),
                                     row_major<const code_t>(b.data(), 3, 2),
                                     row_major(y.data(), 2, 2)); },
                "A(0, 1) = 200 is not a 7-bit code");
  const appmult<exact, u8, ste> wide;
  const std::size_t k = 40000;
  std::vector<code_t> deep_a(k, 255), deep_b(k, 255);
  std::vector<std::int32_t> y1(1);
  check_message([&] { wide.forward(row_major<const code_t>(deep_a.data(), 1, k),
                                   row_major<const code_t>(deep_b.data(), k, 1),
                                   row_major(y1.data(), 1, 1)); },
                "can overflow an int32 accumulator");
}

TEST_CASE("README error table: tables, models, schemes") {
  check_message([] { return product_table(u8::format, std::vector<std::int32_t>(3)); },
                "a u8 table needs 65536 entries, got 3");
  check_message([] { return truncated{40}; }, "column count k = 40 is out of range [0, 16]");
  check_message([] { return make_product_table(parse_model_spec("nope:3"), u8::format); },
                "unknown model 'nope'");
  check_message([] { return make_product_table(parse_model_spec("etm:3"), s8::format); },
                "model etm has no signed definition");
  check_message([] { return lut2d{40}.tables(make_product_table<u6>(exact{})); },
                "half window size 40 does not fit a u6 table");
}

TEST_CASE("README error table: quantizer and ops") {
  check_message([] { return quant::make_params<u8>(0.0f); }, "scale[0] = 0 must be finite and positive");
  check_message([] { return quant::make_params<u8>(std::numeric_limits<float>::quiet_NaN()); },
                "must be finite and positive");
  check_message([] { return quant::make_params<u8>(0.1f, 300); },
                "zero point[0] = 300 is outside the u8 value range");
  const std::vector<float> x{0.5f, std::numeric_limits<float>::quiet_NaN()};
  check_message([&] { return quant::quantize<u8>(x, quant::make_params<u8>(0.1f)); },
                "NaN at index 1");
  const appmult<exact, u8, ste> engine;
  std::vector<float> xs(5), w(6), y(4);
  const auto q = quant::make_params<u8>(0.1f);
  check_message([&] { return ops::linear_forward(engine, xs, w, {}, {2, 3, 2}, q, q, y); },
                "x has 5 values, expected 6");
  ops::conv2d_geometry g{1, 1, 5, 5, 1, 6, 6};
  std::vector<float> cx(25), cw(36), cy(1);
  check_message([&] { return ops::conv2d_forward(engine, cx, cw, {}, g, q, q, cy); },
                "the 6x6 (dilated) kernel does not fit the padded 5x5 input");
}
