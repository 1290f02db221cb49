// The generic Thrust path on the host backends (OMP as Thrust's device system, plus the CPP
// and OMP policies called explicitly) against the reference kernels on random ragged shapes:
// bit-exact forward, backward within float rounding of the double-accumulating reference.
#include <thrust/system/cpp/execution_policy.h>
#include <thrust/system/omp/execution_policy.h>

#include <cmath>

#include "amgrad/kernel/generic/kernels.hpp"
#include "support.hpp"

using namespace amgrad;

namespace {

const auto models = hana::make_tuple(exact{}, truncated{3});
// Every backend the call site is tried on, as execution policies.
const auto policies = hana::make_tuple(thrust::cpp::par, thrust::omp::par, thrust::device);

template <class Operand, class Model>
void check_forward(const Model& model) {
  const auto lut = make_product_table<Operand>(model);
  const auto grads = ste{}.tables(lut);
  const kernel::generic::tables tables(lut, grads);
  for (int trial = 0; trial < 3; ++trial) {
    const auto m = test::random_size(1, 70), n = test::random_size(1, 70),
               k = test::random_size(1, 90);
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    const auto a = test::random_codes<Operand>(m * k), b = test::random_codes<Operand>(k * n);
    std::vector<std::int64_t> expected(m * n);
    kernel::reference::forward(lut, row_major(a.data(), m, k), row_major(b.data(), k, n),
                               row_major(expected.data(), m, n));
    const auto bt = test::transposed_codes(b, k, n);
    hana::for_each(policies, [&](const auto& exec) {
      std::vector<std::int64_t> y(m * n, -1);
      tables.forward(exec, row_major(a.data(), m, k), row_major(b.data(), k, n),
                     row_major(y.data(), m, n));
      CHECK(y == expected);
      // Transposed B, and an int32 output through the free function and a host table.
      std::vector<std::int32_t> y32(m * n, -1);
      kernel::generic::forward(exec, lut.data(), lut.format(), row_major(a.data(), m, k),
                               row_major(bt.data(), n, k).transposed(),
                               row_major(y32.data(), m, n));
      CHECK(std::equal(y32.begin(), y32.end(), expected.begin()));
    });
  }
}

void check_close(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t e = 0; e < got.size(); ++e)
    CHECK(std::abs(got[e] - want[e]) <= 1e-6f * std::abs(want[e]) + 1e-6f);
}

template <class Operand, class Scheme>
void check_backward(const Scheme& scheme) {
  const auto lut = make_product_table<Operand>(truncated{4});
  const auto g = scheme.tables(lut);
  const kernel::generic::tables tables(lut, g);
  for (int trial = 0; trial < 3; ++trial) {
    const auto m = test::random_size(1, 50), n = test::random_size(1, 50),
               k = test::random_size(1, 50);
    const auto a = test::random_codes<Operand>(m * k), b = test::random_codes<Operand>(k * n);
    const auto dy = test::random_floats(m * n);
    const auto av = row_major(a.data(), m, k);
    const auto bv = row_major(b.data(), k, n);
    const auto dyv = row_major(dy.data(), m, n);
    std::vector<float> ref_da(m * k), ref_db(k * n);
    kernel::reference::backward_da(g.da, av, bv, dyv, row_major(ref_da.data(), m, k));
    kernel::reference::backward_db(g.db, av, bv, dyv, row_major(ref_db.data(), k, n));
    hana::for_each(policies, [&](const auto& exec) {
      std::vector<float> da(m * k, -1), db(k * n, -1);
      tables.backward_da(exec, av, bv, dyv, row_major(da.data(), m, k));
      tables.backward_db(exec, av, bv, dyv, row_major(db.data(), k, n));
      check_close(da, ref_da);
      check_close(db, ref_db);
    });
  }
}

}  // namespace

TEST_CASE("generic Thrust forward equals the reference bit for bit on every host backend") {
  hana::for_each(models, [](const auto& model) {
    hana::for_each(test::all_operands, [&](auto t) {
      using Op = typename decltype(t)::type;
      CAPTURE(to_string(Op::format));
      check_forward<Op>(model);
    });
  });
}

TEST_CASE("generic Thrust backward matches the reference for LUT-2D, LUT-1D and STE") {
  hana::for_each(hana::tuple_t<u6, u8, s7>, [](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    check_backward<Op>(lut2d{});
    check_backward<Op>(lut1d{});
    check_backward<Op>(ste{});
  });
}

TEST_CASE("generic Thrust kernels reject mismatched shapes") {
  const auto lut = make_product_table<u4>(exact{});
  std::vector<code_t> a(6), b(6);
  std::vector<std::int32_t> y(4);
  CHECK_THROWS_WITH_AS(kernel::generic::forward(thrust::cpp::par, lut.data(), lut.format(),
                                                row_major(a.data(), 2, 3),
                                                row_major(b.data(), 2, 3),
                                                row_major(y.data(), 2, 2)),
                       doctest::Contains("inner dimensions differ"), amgrad::error);
}

TEST_CASE("appmult with the generic backend: the same results as the host backend") {
  const appmult<truncated, u7, lut2d, generic> portable(truncated{5}, lut2d{4});
  const appmult<truncated, u7, lut2d> fast(truncated{5}, lut2d{4});
  const std::size_t m = 37, n = 29, k = 45;
  const auto a = test::random_codes<u7>(m * k), b = test::random_codes<u7>(k * n);
  std::vector<float> dy(m * n);
  for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = static_cast<float>(i % 7) - 3.0f;
  const auto av = row_major(a.data(), m, k), bv = row_major(b.data(), k, n);
  std::vector<std::int64_t> y_portable(m * n), y_fast(m * n);
  portable.forward(av, bv, row_major(y_portable.data(), m, n), thrust::omp::par);
  fast.forward(av, bv, row_major(y_fast.data(), m, n));
  CHECK(y_portable == y_fast);
  std::vector<float> da_portable(m * k), da_fast(m * k), db_portable(k * n), db_fast(k * n);
  portable.backward_da(av, bv, row_major<const float>(dy.data(), m, n),
                       row_major(da_portable.data(), m, k));  // default policy: thrust::device
  fast.backward_da(av, bv, row_major<const float>(dy.data(), m, n), row_major(da_fast.data(), m, k));
  portable.backward_db(av, bv, row_major<const float>(dy.data(), m, n),
                       row_major(db_portable.data(), k, n), thrust::cpp::par);
  fast.backward_db(av, bv, row_major<const float>(dy.data(), m, n), row_major(db_fast.data(), k, n));
  // The host table kernel reads the x16 fixed-point table: within sum|dY| / 32 per output.
  for (std::size_t i = 0; i < da_fast.size(); ++i) CHECK(std::abs(da_portable[i] - da_fast[i]) <= 3.0f * n / 32 + 1e-3f);
  for (std::size_t i = 0; i < db_fast.size(); ++i) CHECK(std::abs(db_portable[i] - db_fast[i]) <= 3.0f * m / 32 + 1e-3f);
}
