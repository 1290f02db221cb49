// The fast backward kernels against kernel::reference::backward_{da,db} (float64 accumulation).
//
// Bounds, per output element x = sum_j dY_j * g_j over n terms:
//   - float accumulation, any order:   |x_float - x| <= gamma_n * sum_j |dY_j g_j|,
//     gamma_n = n u / (1 - n u), u = 2^-24 (plus one rounding of the result);
//   - int16 x16 fixed point (VBMI LUT-2D): every g_j is replaced by round(16 g_j) / 16, off by at
//     most 1/32, so add sum_j |dY_j| / 32.
#include "support_host.hpp"

using namespace amgrad;
namespace host = amgrad::kernel::host;

namespace {

double gamma(std::size_t n) {
  const double u = std::ldexp(1.0, -24);
  return (static_cast<double>(n) + 2) * u / (1 - (static_cast<double>(n) + 2) * u);
}

struct bwd_problem {
  std::size_t m, n, k;
  std::vector<code_t> a, b;
  std::vector<float> dy;
  matrix_view<const code_t> av, bv;
  matrix_view<const float> dyv;

  bwd_problem(operand_format f, std::size_t m_, std::size_t n_, std::size_t k_, bool strided)
      : m(m_), n(n_), k(k_) {
    a = test::random_codes(f, m * k);
    av = row_major<const code_t>(a.data(), m, k);
    if (strided) {  // B stored N x K, dY stored N x M: both seen transposed
      b = test::random_codes(f, n * k);
      bv = row_major<const code_t>(b.data(), n, k).transposed();
      dy = test::random_floats(n * m);
      dyv = row_major<const float>(dy.data(), n, m).transposed();
    } else {
      b = test::random_codes(f, k * n);
      bv = row_major<const code_t>(b.data(), k, n);
      dy = test::random_floats(m * n);
      dyv = row_major<const float>(dy.data(), m, n);
    }
  }
};

// Checks dA and dB of `kernel` against the reference on the full tables g, within
// gamma_n * sum|dY g| + fixed_point_slack * sum|dY| (+ a tiny absolute floor for zeros).
template <class Kernel>
void check_backward(const Kernel& kernel, const gradient_tables& g, const bwd_problem& p,
                    bool fixed_point) {
  const double slack = fixed_point ? 1.0 / 32 : 0.0;
  std::vector<float> da_ref(p.m * p.k), db_ref(p.k * p.n), da(p.m * p.k, -1), db(p.k * p.n, -1);
  kernel::reference::backward_da(g.da, p.av, p.bv, p.dyv, row_major(da_ref.data(), p.m, p.k));
  kernel::reference::backward_db(g.db, p.av, p.bv, p.dyv, row_major(db_ref.data(), p.k, p.n));
  kernel.da(p.av, p.bv, p.dyv, row_major(da.data(), p.m, p.k));
  // dB written through a transposed view: the kernels must honour output strides too.
  std::vector<float> db_t(p.n * p.k, -1);
  kernel.db(p.av, p.bv, p.dyv, row_major(db_t.data(), p.n, p.k).transposed());
  kernel.db(p.av, p.bv, p.dyv, row_major(db.data(), p.k, p.n));
  std::size_t bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < p.m; ++i)
    for (std::size_t q = 0; q < p.k; ++q) {
      double abs_terms = 0, abs_dy = 0;
      for (std::size_t j = 0; j < p.n; ++j) {
        abs_terms += std::abs(p.dyv(i, j) * g.da(p.av(i, q), p.bv(q, j)));
        abs_dy += std::abs(p.dyv(i, j));
      }
      const double bound = gamma(p.n) * abs_terms + slack * abs_dy + 1e-30;
      const double err = std::abs(double(da[i * p.k + q]) - da_ref[i * p.k + q]);
      worst = std::max(worst, err / bound);
      bad += err > bound;
    }
  for (std::size_t q = 0; q < p.k; ++q)
    for (std::size_t j = 0; j < p.n; ++j) {
      double abs_terms = 0, abs_dy = 0;
      for (std::size_t i = 0; i < p.m; ++i) {
        abs_terms += std::abs(p.dyv(i, j) * g.db(p.av(i, q), p.bv(q, j)));
        abs_dy += std::abs(p.dyv(i, j));
      }
      const double bound = gamma(p.m) * abs_terms + slack * abs_dy + 1e-30;
      for (float got : {db[q * p.n + j], db_t[j * p.k + q]}) {
        const double err = std::abs(double(got) - db_ref[q * p.n + j]);
        worst = std::max(worst, err / bound);
        bad += err > bound;
      }
    }
  CAPTURE(worst);
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("separable backward (map + sgemm) is within float rounding of the reference") {
  hana::for_each(test::widths_2_to_8, [](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    const auto lut = make_product_table<Op>(truncated{2});
    for (const auto& factors : {ste{}.factors(lut), lut1d{}.factors(lut)}) {
      for (int threads : {1, 2}) {
        const host::backward_separable_kernel kernel(factors, threads);
        const auto m = test::random_size(1, 200), n = test::random_size(1, 200),
                   k = test::random_size(1, 200);
        check_backward(kernel, factors.expand(), bwd_problem(Op::format, m, n, k, threads == 2),
                       false);
      }
    }
  });
}

TEST_CASE("LUT-2D table backward is within the fixed-point bound on every width") {
  hana::for_each(test::widths_2_to_8, [](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    const auto lut = make_product_table<Op>(truncated{2});
    const auto g = lut2d{}.tables(lut);
    const host::backward_table_kernel kernel(g, 2);
    CHECK(kernel.path() == (AMGRAD_HAS_AVX512VBMI ? host::backward_path::fixed_point_vbmi
                                                  : host::backward_path::float_table));
    const auto m = test::random_size(1, 300), n = test::random_size(1, 300),
               k = test::random_size(1, 150);
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    check_backward(kernel, g, bwd_problem(Op::format, m, n, k, false), AMGRAD_HAS_AVX512VBMI);
    check_backward(kernel, g, bwd_problem(Op::format, 70, 130, 33, true), AMGRAD_HAS_AVX512VBMI);
  });
}

TEST_CASE("LUT-2D narrow reductions (the sweep form) are within the fixed-point bound") {
  // dA reduces over N and dB over M: N = 16 (a small conv's output channels) puts dA in the
  // sweep form, M = 10 puts dB in it, and 150 x 255 both; ragged row counts exercise the
  // partial 64-row block.
  hana::for_each(test::widths_2_to_8, [](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    const auto lut = make_product_table<Op>(truncated{2});
    const auto g = lut2d{}.tables(lut);
    for (int threads : {1, 2}) {
      const host::backward_table_kernel kernel(g, threads);
      CHECK(kernel.sweeps(201, 16) == bool(AMGRAD_HAS_AVX512VBMI));
      CHECK(kernel.sweeps(130, 10) == bool(AMGRAD_HAS_AVX512VBMI));
      CHECK_FALSE(kernel.sweeps(201, 256));
      CHECK_FALSE(kernel.sweeps(63, 16));
      check_backward(kernel, g, bwd_problem(Op::format, 201, 16, 37, threads == 2),
                     AMGRAD_HAS_AVX512VBMI);
      check_backward(kernel, g, bwd_problem(Op::format, 10, 130, 29, threads == 2),
                     AMGRAD_HAS_AVX512VBMI);
      check_backward(kernel, g, bwd_problem(Op::format, 64, 1, 5, false), AMGRAD_HAS_AVX512VBMI);
      check_backward(kernel, g, bwd_problem(Op::format, 150, 255, 9, false),
                     AMGRAD_HAS_AVX512VBMI);
    }
  });
}

TEST_CASE("the float table path (portable, or forced) is within float rounding") {
  const auto lut = make_product_table<s8>(exact{});
  const auto g = lut2d{8}.tables(lut);
  const host::backward_table_kernel kernel(g, 2, /*allow_fixed_point=*/false);
  CHECK(kernel.path() == host::backward_path::float_table);
  check_backward(kernel, g, bwd_problem(s8::format, 140, 200, 70, false), false);
  check_backward(kernel, g, bwd_problem(s8::format, 31, 5, 130, true), false);
}

TEST_CASE("a gradient table that does not fit int16 at x16 falls back to float, not wrong") {
  const auto big = test::random_table(operand_format{7, false}, -9'000'000, 9'000'000);
  const auto g = lut2d{4}.tables(big);
  CHECK_FALSE(std::ranges::all_of(g.da.values(), [](float v) { return fits_fixed_point(v); }));
  const host::backward_table_kernel kernel(g, 2);
  CHECK(kernel.path() == host::backward_path::float_table);
  check_backward(kernel, g, bwd_problem(operand_format{7, false}, 50, 90, 40, false), false);
}

TEST_CASE("the fixed-point bound is tight enough to catch a wrong table") {
  // Sanity of the bound itself: a kernel on a different table must fail it.
  const auto lut = make_product_table<u6>(exact{});
  const auto g = lut2d{}.tables(lut);
  auto shifted = g;
  for (std::size_t i = 0; i < shifted.da.size(); ++i) shifted.da.data()[i] += 0.25f;
  const host::backward_table_kernel wrong(shifted, 1);
  const bwd_problem p(u6::format, 20, 40, 10, false);
  std::vector<float> ref(p.m * p.k), got(p.m * p.k);
  kernel::reference::backward_da(g.da, p.av, p.bv, p.dyv, row_major(ref.data(), p.m, p.k));
  wrong.da(p.av, p.bv, p.dyv, row_major(got.data(), p.m, p.k));
  std::size_t outside = 0;
  for (std::size_t i = 0; i < p.m; ++i)
    for (std::size_t q = 0; q < p.k; ++q) {
      double abs_dy = 0, diff_expected = 0;
      for (std::size_t j = 0; j < p.n; ++j) {
        abs_dy += std::abs(p.dyv(i, j));
        diff_expected += 0.25 * p.dyv(i, j);
      }
      const double err = std::abs(double(got[i * p.k + q]) - ref[i * p.k + q]);
      outside += err > abs_dy / 32 + 1e-3 && std::abs(diff_expected) > abs_dy / 16;
    }
  CHECK(outside > 0);
}

TEST_CASE("backward kernels used directly refuse codes wider than their tables and bad shapes") {
  const auto lut = make_product_table<unsigned_operand<5>>(truncated{2});
  const host::backward_table_kernel table_kernel(lut2d{}.tables(lut), 1);
  const host::backward_separable_kernel separable_kernel(lut1d{}.factors(lut), 1);
  std::vector<code_t> a(3 * 4, 1), b(4 * 2, 2);
  std::vector<float> dy(3 * 2, 1.0f), da(3 * 4), db(4 * 2);
  b[5] = 32;  // one past the 5-bit range: it would index past the gradient tables
  const auto av = row_major<const code_t>(a.data(), 3, 4);
  const auto bv = row_major<const code_t>(b.data(), 4, 2);
  const auto dyv = row_major<const float>(dy.data(), 3, 2);
  CHECK_THROWS_WITH_AS(table_kernel.da(av, bv, dyv, row_major(da.data(), 3, 4)),
                       doctest::Contains("B(2, 1) = 32 is not a 5-bit code"), amgrad::error);
  CHECK_THROWS_WITH_AS(separable_kernel.db(av, bv, dyv, row_major(db.data(), 4, 2)),
                       doctest::Contains("B(2, 1) = 32 is not a 5-bit code"), amgrad::error);
  b[5] = 31;
  CHECK_NOTHROW(table_kernel.da(av, bv, dyv, row_major(da.data(), 3, 4)));
  CHECK_THROWS_WITH_AS(table_kernel.db(av, bv, dyv, row_major(db.data(), 2, 4)),
                       doctest::Contains("dB is 2x4 but must be 4x2"), amgrad::error);
  CHECK_THROWS_WITH_AS(separable_kernel.da(av, bv, row_major<const float>(dy.data(), 2, 3),
                                           row_major(da.data(), 3, 4)),
                       doctest::Contains("output is 2x3 but A*B is 3x2"), amgrad::error);
}
