#include <cmath>
#include <limits>

#include "amgrad/quant/affine.hpp"
#include "support.hpp"

using namespace amgrad;

namespace {
const auto operands = hana::tuple_t<u8, u7, u4, s8, s6>;
}

TEST_CASE("from_range: the range ends land on the code range ends and zero is exact") {
  hana::for_each(operands, [](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    for (auto [lo, hi] : {std::pair{-1.5f, 3.0f}, std::pair{0.0f, 6.0f}, std::pair{0.25f, 2.0f},
                          std::pair{-4.0f, -1.0f}}) {
      const auto p = quant::from_range<Op>(lo, hi);
      const float s = p.scale[0];
      const int z = p.zero_point[0];
      // [lo, hi] is widened to hold 0, and spans 2^B - 1 steps.
      CHECK(s == doctest::Approx((std::max(hi, 0.0f) - std::min(lo, 0.0f)) / (Op::size - 1)));
      bool inside = false;
      CHECK(quant::quantize_value<Op>(0.0f, 1.0f / s, z, inside) == z);  // zero is exact
      CHECK(quant::quantize_value<Op>(std::min(lo, 0.0f), 1.0f / s, z, inside) == Op::min_value);
      CHECK(quant::quantize_value<Op>(std::max(hi, 0.0f), 1.0f / s, z, inside) == Op::max_value);
      CHECK(inside);
    }
  });
}

TEST_CASE("symmetric mapping: Z = 0 and the larger magnitude hits max_value") {
  const auto p = quant::from_range<s8>(-0.5f, 2.54f, quant::mapping::symmetric);
  CHECK(p.zero_point[0] == 0);
  CHECK(p.scale[0] == doctest::Approx(2.54f / 127));
  CHECK_THROWS_AS(quant::from_range<u8>(-1.0f, 1.0f, quant::mapping::symmetric), amgrad::error);
}

TEST_CASE("quantize/dequantize: error at most s/2 inside the range, clamped and masked outside") {
  hana::for_each(operands, [](auto t) {
    using Op = typename decltype(t)::type;
    const auto p = quant::from_range<Op>(-1.0f, 2.0f);
    const float s = p.scale[0];
    auto x = test::random_floats(1000, -1.0f, 2.0f);
    x.push_back(5.0f);   // clamped to the top
    x.push_back(-3.0f);  // clamped to the bottom
    const auto q = quant::quantize<Op>(x, p);
    const auto back = quant::dequantize<Op>(q.codes, p);
    for (std::size_t i = 0; i < 1000; ++i) {
      CHECK(q.inside[i] == 1);
      CHECK(std::abs(back[i] - x[i]) <= 0.5f * s * 1.0001f);
    }
    CHECK(q.inside[1000] == 0);
    CHECK(q.inside[1001] == 0);
    CHECK(q.codes[1000] == Op::size - 1);
    CHECK(q.codes[1001] == 0);

    // Clipping STE: 1/s inside, 0 outside.
    std::vector<float> dq(x.size(), 2.0f), dx(x.size());
    quant::quantizer_backward(dq, q, 1, dx);
    CHECK(dx[0] == doctest::Approx(2.0f / s));
    CHECK(dx[1000] == 0.0f);
    CHECK(dx[1001] == 0.0f);
  });
}

TEST_CASE("per-channel params quantize each channel with its own scale and zero point") {
  // Two channels with very different ranges: each must use its full code range.
  const std::vector<float> w{-0.01f, 0.0f, 0.02f, -8.0f, 1.0f, 4.0f};
  const auto p = quant::from_channels<u8>(w, 2);
  REQUIRE(p.channels() == 2);
  CHECK(p.scale[0] == doctest::Approx(0.03f / 255));
  CHECK(p.scale[1] == doctest::Approx(12.0f / 255));
  const auto q = quant::quantize<u8>(w, p, 2);
  CHECK(q.codes[0] == 0);
  CHECK(q.codes[2] == 255);
  CHECK(q.codes[3] == 0);
  CHECK(q.codes[5] == 255);
  const auto back = quant::dequantize<u8>(q.codes, p, 2);
  for (std::size_t i = 0; i < w.size(); ++i)
    CHECK(std::abs(back[i] - w[i]) <= 0.5f * p.scale_of(i / 3) * 1.0001f);
}

TEST_CASE("bad scales, zero points, shapes and values throw amgrad::error") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(quant::make_params<u8>(nan, 0), amgrad::error);
  CHECK_THROWS_AS(quant::make_params<u8>(0.0f, 0), amgrad::error);
  CHECK_THROWS_AS(quant::make_params<u8>(-1.0f, 0), amgrad::error);
  CHECK_THROWS_AS(quant::make_params<u8>(1.0f, 256), amgrad::error);
  CHECK_THROWS_AS(quant::make_params<s8>(1.0f, -129), amgrad::error);
  CHECK_THROWS_AS(quant::make_params<u8>({1.0f, 2.0f}, {0}), amgrad::error);
  CHECK_THROWS_AS(quant::from_range<u8>(nan, 1.0f), amgrad::error);
  CHECK_THROWS_AS(quant::from_range<u8>(2.0f, 1.0f), amgrad::error);
  const std::vector<float> x{1.0f, nan, 3.0f, 4.0f};
  CHECK_THROWS_AS(quant::tensor_range(x), amgrad::error);
  CHECK_THROWS_AS(quant::quantize<u8>(x, quant::make_params<u8>(0.1f, 0)), amgrad::error);
  const std::vector<float> ok{1.0f, 2.0f, 3.0f, 4.0f};
  CHECK_THROWS_AS(quant::quantize<u8>(ok, quant::make_params<u8>(0.1f, 0), 3), amgrad::error);
  // Three channels of params for a two-channel tensor.
  CHECK_THROWS_AS(quant::quantize<u8>(ok, quant::make_params<u8>({1, 1, 1}, {0, 0, 0}), 2),
                  amgrad::error);
  CHECK_NOTHROW(quant::quantize<u8>(ok, quant::make_params<u8>({1, 1}, {0, 0}), 2));
}
