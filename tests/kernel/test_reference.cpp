#include "support.hpp"

using namespace amgrad;

namespace {

// Models checked on every operand; each entry is a model instance.
const auto models = hana::make_tuple(exact{}, truncated{3});

template <class Operand, class Model>
void check_forward_against_naive(const Model& model) {
  const auto lut = make_product_table<Operand>(model);
  for (int trial = 0; trial < 4; ++trial) {
    const auto m = test::random_size(1, 130), n = test::random_size(1, 130),
               k = test::random_size(1, 130);
    const auto a = test::random_codes<Operand>(m * k);
    const auto b = test::random_codes<Operand>(k * n);
    std::vector<std::int32_t> y(m * n, -7);
    kernel::reference::forward(lut, row_major(a.data(), m, k), row_major(b.data(), k, n),
                               row_major(y.data(), m, n));
    const auto expected = test::naive_forward<Operand>(model, a, b, m, n, k);
    REQUIRE(std::equal(y.begin(), y.end(), expected.begin()));

    // Transposed-B: the same product from B stored as N x K.
    const auto bt = test::transposed_codes(b, k, n);
    std::vector<std::int64_t> y64(m * n, -7);
    kernel::reference::forward(lut, row_major(a.data(), m, k),
                               row_major(bt.data(), n, k).transposed(), row_major(y64.data(), m, n));
    REQUIRE(y64 == expected);
  }
}

}  // namespace

TEST_CASE("reference forward equals the naive loop over the model, on ragged random shapes") {
  hana::for_each(models, [](const auto& model) {
    hana::for_each(test::all_operands, [&](auto t) {
      using Op = typename decltype(t)::type;
      CAPTURE(to_string(Op::format));
      check_forward_against_naive<Op>(model);
    });
  });
}

TEST_CASE("reference backward equals a float64 loop over the gradient functions") {
  using Op = s6;
  const auto lut = make_product_table<Op>(truncated{4});
  const auto g = lut2d{3}.tables(lut);
  const std::size_t m = 17, n = 9, k = 23;
  const auto a = test::random_codes<Op>(m * k), b = test::random_codes<Op>(k * n);
  const auto dy = test::random_floats(m * n);
  std::vector<float> da(m * k), db(k * n);
  kernel::reference::backward_da(g.da, row_major(a.data(), m, k), row_major(b.data(), k, n),
                                 row_major(dy.data(), m, n), row_major(da.data(), m, k));
  kernel::reference::backward_db(g.db, row_major(a.data(), m, k), row_major(b.data(), k, n),
                                 row_major(dy.data(), m, n), row_major(db.data(), k, n));
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t p = 0; p < k; ++p) {
      double s = 0;
      for (std::size_t j = 0; j < n; ++j) s += double(dy[i * n + j]) * g.da(a[i * k + p], b[p * n + j]);
      CHECK(da[i * k + p] == doctest::Approx(s).epsilon(1e-6));
    }
  for (std::size_t p = 0; p < k; ++p)
    for (std::size_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::size_t i = 0; i < m; ++i) s += double(dy[i * n + j]) * g.db(a[i * k + p], b[p * n + j]);
      CHECK(db[p * n + j] == doctest::Approx(s).epsilon(1e-6));
    }
}

TEST_CASE("reference kernels reject mismatched shapes") {
  std::vector<code_t> a(6), b(6);
  std::vector<std::int32_t> y(4);
  const auto lut = make_product_table<u4>(exact{});
  CHECK_THROWS_WITH_AS(kernel::reference::forward(lut, row_major(a.data(), 2, 3),
                                                  row_major(b.data(), 2, 3), row_major(y.data(), 2, 2)),
                       doctest::Contains("inner dimensions differ"), amgrad::error);
}
