// lut2d_lowrank<R>: the truncated SVD of the LUT-2D gradient tables (LAPACK).
#include "support.hpp"

#include <cmath>

#include "amgrad/gradient/lut1d.hpp"
#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/gradient/lut2d_lowrank.hpp"
#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/multiplier/product_table.hpp"

using namespace amgrad;

namespace {

double max_abs(const gradient_table& g) {
  double m = 0;
  for (float v : g.values()) m = std::max(m, std::fabs(static_cast<double>(v)));
  return m;
}

double max_abs_diff(const gradient_table& x, const gradient_table& y) {
  double m = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    m = std::max(m, std::fabs(static_cast<double>(x.data()[i]) - y.data()[i]));
  return m;
}

double relative_frobenius(const gradient_table& g, const gradient_table& approx) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double d = static_cast<double>(g.data()[i]) - approx.data()[i];
    num += d * d;
    den += static_cast<double>(g.data()[i]) * g.data()[i];
  }
  return std::sqrt(num / den);
}

}  // namespace

#if AMGRAD_HAS_LAPACKE

TEST_CASE("lut2d_lowrank at full rank reproduces LUT-2D within float error") {
  const auto lut = make_product_table<u6>(truncated{4});
  const auto full = lut2d{2}.tables(lut);
  lut2d_lowrank<64> scheme;
  scheme.hws = 2;
  const auto low = scheme.low_rank(lut);
  CHECK(low.da.rank == 64);
  CHECK(low.db.rank == 64);
  const auto approx = scheme.tables(lut);
  CHECK(max_abs_diff(full.da, approx.da) <= 1e-4 * max_abs(full.da));
  CHECK(max_abs_diff(full.db, approx.db) <= 1e-4 * max_abs(full.db));
  // A rank above the table's side is capped at it.
  CHECK(low_rank_of(full, 1000).da.rank == 64);
}

TEST_CASE("rank 1 of a separable table is LUT-1D's form g_a(b)") {
  const auto lut = make_product_table<u8>(mitchell{});
  const auto sep = lut1d{}.factors(lut);
  const auto low = low_rank_of(sep.expand(), 1);
  CHECK(low.da.relative_error() < 1e-6);
  CHECK(low.db.relative_error() < 1e-6);
  // u_1(a) v_1(b) = g_a(b) for every a: u_1 is constant and u_1 v_1 is g_a.
  for (int a = 0; a < 256; a += 17)
    for (int b = 0; b < 256; b += 5) {
      CHECK(low.da.u[static_cast<std::size_t>(a)] * low.da.v[static_cast<std::size_t>(b)] ==
            doctest::Approx(sep.da_of_b[static_cast<std::size_t>(b)]).epsilon(1e-4).scale(1.0));
      CHECK(low.db.u[static_cast<std::size_t>(a)] * low.db.v[static_cast<std::size_t>(b)] ==
            doctest::Approx(sep.db_of_a[static_cast<std::size_t>(a)]).epsilon(1e-4).scale(1.0));
    }
  // The run-time rank finds it too.
  CHECK(low_rank_of(sep.expand(), dynamic_rank, 1e-4).da.rank == 1);
}

TEST_CASE("the error at every rank is the singular values' tail") {
  const auto lut = make_product_table<u7>(truncated{6});
  const auto g = lut2d{4}.tables(lut);
  for (int r : {1, 2, 3, 5, 8, 16}) {
    CAPTURE(r);
    const auto low = low_rank_of(g, r);
    CHECK(low.da.singular_values.size() == 128);
    const double predicted = low.da.relative_error();
    CHECK(relative_frobenius(g.da, low.da.expand(g.da.format())) ==
          doctest::Approx(predicted).epsilon(1e-3).scale(1e-5));
    CHECK(relative_frobenius(g.db, low.db.expand(g.db.format())) ==
          doctest::Approx(low.db.relative_error()).epsilon(1e-3).scale(1e-5));
    if (r > 1) CHECK(predicted <= low_rank_of(g, r - 1).da.relative_error());
  }
}

TEST_CASE("the run-time rank is the smallest within the tolerance") {
  const auto lut = make_product_table<u8>(truncated{8});
  lut2d_lowrank<dynamic_rank> scheme;
  scheme.hws = 16;
  for (double tol : {0.3, 0.1, 0.01}) {
    CAPTURE(tol);
    scheme.tolerance = tol;
    const auto low = scheme.low_rank(lut);
    CHECK(low.da.relative_error() <= tol);
    REQUIRE(low.da.rank >= 1);
    if (low.da.rank > 1) CHECK(low.da.relative_error(low.da.rank - 1) > tol);
  }
}

TEST_CASE("a rank fixed at run time is the compile-time rank's factorisation") {
  const auto lut = make_product_table<u7>(truncated{6});
  lut2d_lowrank<> dynamic;
  dynamic.hws = 2;
  dynamic.rank = 3;
  dynamic.tolerance = 0.5;  // unused once the rank is fixed
  lut2d_lowrank<3> fixed;
  fixed.hws = 2;
  const auto a = dynamic.low_rank(lut), b = fixed.low_rank(lut);
  CHECK(a.da.rank == 3);
  CHECK(a.db.rank == 3);
  CHECK(a.da.u == b.da.u);
  CHECK(a.db.v == b.db.v);
  fixed.rank = 2;  // a second rank on a fixed-rank scheme is a contradiction
  CHECK_THROWS_WITH_AS(fixed.low_rank(lut),
                       doctest::Contains("for lut2d_lowrank<dynamic_rank> only"), amgrad::error);
}

TEST_CASE("low_rank_of: bad arguments throw amgrad::error") {
  const auto g = lut2d{}.tables(make_product_table<u4>(exact{}));
  CHECK_THROWS_WITH_AS(low_rank_of(g, -1), doctest::Contains("amgrad::low_rank_of"), amgrad::error);
  CHECK_THROWS_WITH_AS(low_rank_of(g, dynamic_rank, std::nan("")), doctest::Contains("tolerance"),
                       amgrad::error);
}

#else

TEST_CASE("without LAPACKE the factorisation says what is missing") {
  const auto g = lut2d{}.tables(make_product_table<u4>(exact{}));
  CHECK_THROWS_WITH_AS(low_rank_of(g, 1), doctest::Contains("LAPACKE"), amgrad::error);
}

#endif
