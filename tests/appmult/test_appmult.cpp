#include "support.hpp"

using namespace amgrad;

TEST_CASE("appmult runs forward and every backward of a policy set against the reference") {
  const appmult<truncated, s7, lut2d> engine{truncated{6}, lut2d{4}};
  const std::size_t m = 13, n = 31, k = 29;
  const auto a = test::random_codes<s7>(m * k), b = test::random_codes<s7>(k * n);
  const auto dy = test::random_floats(m * n);
  std::vector<std::int32_t> y(m * n);
  engine.forward(row_major(a.data(), m, k), row_major(b.data(), k, n), row_major(y.data(), m, n));
  const auto expected = test::naive_forward<s7>(truncated{6}, a, b, m, n, k);
  CHECK(std::equal(y.begin(), y.end(), expected.begin()));

  const auto g = engine.gradients();
  std::vector<float> da(m * k), db(k * n), ref_da(m * k), ref_db(k * n);
  engine.backward_da(row_major(a.data(), m, k), row_major(b.data(), k, n),
                     row_major(dy.data(), m, n), row_major(da.data(), m, k));
  engine.backward_db(row_major(a.data(), m, k), row_major(b.data(), k, n),
                     row_major(dy.data(), m, n), row_major(db.data(), k, n));
  kernel::reference::backward_da(g.da, row_major(a.data(), m, k), row_major(b.data(), k, n),
                                 row_major(dy.data(), m, n), row_major(ref_da.data(), m, k));
  kernel::reference::backward_db(g.db, row_major(a.data(), m, k), row_major(b.data(), k, n),
                                 row_major(dy.data(), m, n), row_major(ref_db.data(), k, n));
  // Fast kernels may use the int16 x16 gradient table: |g - round(16 g)/16| <= 1/32 per entry.
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t p = 0; p < k; ++p) {
      double bound = 1e-4;
      for (std::size_t j = 0; j < n; ++j) bound += std::abs(dy[i * n + j]) / 32.0;
      REQUIRE(std::abs(da[i * k + p] - ref_da[i * k + p]) <= bound);
    }
  for (std::size_t p = 0; p < k; ++p)
    for (std::size_t j = 0; j < n; ++j) {
      double bound = 1e-4;
      for (std::size_t i = 0; i < m; ++i) bound += std::abs(dy[i * n + j]) / 32.0;
      REQUIRE(std::abs(db[p * n + j] - ref_db[p * n + j]) <= bound);
    }
}

TEST_CASE("appmult refuses codes outside the operand range, wrong shapes and int32 overflow") {
  const appmult<exact, u6, ste> engine;
  std::vector<code_t> a(4 * 3, 1), b(3 * 2, 2);
  std::vector<std::int32_t> y(4 * 2);
  a[7] = 64;  // one past the 6-bit range
  CHECK_THROWS_WITH_AS(engine.forward(row_major(a.data(), 4, 3), row_major(b.data(), 3, 2),
                                      row_major(y.data(), 4, 2)),
                       doctest::Contains("A(2, 1) = 64 is not a 6-bit code"), amgrad::error);
  a[7] = 63;
  CHECK_NOTHROW(engine.forward(row_major(a.data(), 4, 3), row_major(b.data(), 3, 2),
                               row_major(y.data(), 4, 2)));
  CHECK_THROWS_WITH_AS(engine.forward(row_major(a.data(), 4, 3), row_major(b.data(), 2, 3),
                                      row_major(y.data(), 4, 3)),
                       doctest::Contains("inner dimensions differ"), amgrad::error);
  std::vector<float> dy(4 * 2), da(3 * 4);
  CHECK_THROWS_WITH_AS(engine.backward_da(row_major(a.data(), 4, 3), row_major(b.data(), 3, 2),
                                          row_major(dy.data(), 4, 2), row_major(da.data(), 3, 4)),
                       doctest::Contains("dA is 3x4 but must be 4x3"), amgrad::error);

  const appmult<exact, u8, ste> wide;
  const std::size_t k = 40000;  // 40000 * 255 * 255 > 2^31 - 1
  std::vector<code_t> row(k, 255), col(k, 255);
  std::vector<std::int32_t> y32(1);
  std::vector<std::int64_t> y64(1);
  CHECK_THROWS_WITH_AS(wide.forward(row_major(row.data(), 1, k), row_major(col.data(), k, 1),
                                    row_major(y32.data(), 1, 1)),
                       doctest::Contains("use an int64_t output"), amgrad::error);
  wide.forward(row_major(row.data(), 1, k), row_major(col.data(), k, 1), row_major(y64.data(), 1, 1));
  CHECK(y64[0] == std::int64_t{40000} * 255 * 255);
}

TEST_CASE("swapped<Model> transposes the truth table") {
  const auto model = make_model([](int a, int b) { return a * b + (a & 3); });
  const auto lut = make_product_table<unsigned_operand<5>>(model);
  const auto flipped = make_product_table<unsigned_operand<5>>(swapped<decltype(model)>{model});
  for (int a = 0; a < 32; ++a)
    for (int b = 0; b < 32; ++b) REQUIRE(flipped(a, b) == lut(b, a));
}

TEST_CASE("compile-time truth tables agree with the run-time ones") {
  constexpr auto lut = product_array<s4>(truncated{2});
  static_assert(lut[s4::code(-8) * 16 + s4::code(-8)] == 64);
  // 3 * 3 = 11b * 11b: only a1*b1 (column 2) survives dropping columns 0 and 1
  static_assert(lut[s4::code(3) * 16 + s4::code(3)] == 4);
  static_assert(lut[s4::code(-3) * 16 + s4::code(3)] == -4);
  const auto runtime = make_product_table<s4>(truncated{2});
  CHECK(std::equal(lut.begin(), lut.end(), runtime.data()));
}
