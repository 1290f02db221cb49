// The host backward of lut2d_lowrank<R>: R stacked GEMMs, against a double reference over the
// rank-R tables, and the dispatch between it and the table kernel.
#include "support.hpp"
#include "support_host.hpp"

#include <cmath>

#include "amgrad/gradient/lut2d_lowrank.hpp"
#include "amgrad/kernel/host/backward_lowrank.hpp"
#include "amgrad/multiplier/builtin.hpp"

using namespace amgrad;
using namespace amgrad::test;

#if AMGRAD_HAS_LAPACKE

namespace {

struct problem {
  std::size_t m, n, k;
  std::vector<code_t> a, b;
  std::vector<float> dy;
};

problem random_problem(operand_format f, std::size_t m, std::size_t n, std::size_t k) {
  return {m, n, k, random_codes(f, m * k), random_codes(f, k * n), random_floats(m * n)};
}

// dA[i][k] = sum_j dY[i][j] G_a(A[i][k], B[k][j]) and dB likewise, in double.
std::vector<double> reference(const problem& p, const gradient_table& g, bool for_a) {
  std::vector<double> out(for_a ? p.m * p.k : p.k * p.n, 0.0);
  for (std::size_t i = 0; i < p.m; ++i)
    for (std::size_t j = 0; j < p.n; ++j)
      for (std::size_t q = 0; q < p.k; ++q) {
        const double v = p.dy[i * p.n + j] * g(p.a[i * p.k + q], p.b[q * p.n + j]);
        if (for_a)
          out[i * p.k + q] += v;
        else
          out[q * p.n + j] += v;
      }
  return out;
}

void check_close(const std::vector<float>& got, const std::vector<double>& want, double scale) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
  CHECK(worst <= 1e-4 * scale);
}

}  // namespace

TEST_CASE("backward_low_rank_kernel: dA and dB equal the rank-R tables' backward") {
  const auto lut = make_product_table<u7>(truncated{6});
  for (int rank : {1, 3, 8}) {
    for (int threads : {1, 2}) {
      CAPTURE(rank);
      CAPTURE(threads);
      const auto low = low_rank_of(lut2d{4}.tables(lut), rank);
      const auto expanded = low.expand();
      const kernel::host::backward_low_rank_kernel kernel(low, threads);
      CHECK(kernel.rank_da() == rank);
      const auto p = random_problem(lut.format(), random_size(1, 70), random_size(1, 90), random_size(1, 80));
      std::vector<float> da(p.m * p.k, 7.0f), db(p.k * p.n, 7.0f);
      const auto a = row_major<const code_t>(p.a.data(), p.m, p.k);
      const auto b = row_major<const code_t>(p.b.data(), p.k, p.n);
      const auto dy = row_major<const float>(p.dy.data(), p.m, p.n);
      kernel.da(a, b, dy, row_major<float>(da.data(), p.m, p.k));
      kernel.db(a, b, dy, row_major<float>(db.data(), p.k, p.n));
      const double scale = 128.0 * static_cast<double>(std::max(p.m, p.n));
      check_close(da, reference(p, expanded.da, true), scale);
      check_close(db, reference(p, expanded.db, false), scale);
    }
  }
}

TEST_CASE("backward_low_rank_kernel: dA over several row chunks (K * R > 4096)") {
  const auto lut = make_product_table<u8>(truncated{8});
  const auto low = low_rank_of(lut2d{16}.tables(lut), 8);
  const kernel::host::backward_low_rank_kernel kernel(low, 2);
  const auto p = random_problem(lut.format(), 600, 7, 600);  // chunks of 256 rows: 3 per pass
  std::vector<float> da(p.m * p.k);
  kernel.da(row_major<const code_t>(p.a.data(), p.m, p.k), row_major<const code_t>(p.b.data(), p.k, p.n),
            row_major<const float>(p.dy.data(), p.m, p.n), row_major<float>(da.data(), p.m, p.k));
  check_close(da, reference(p, low.expand().da, true), 256.0 * 7);
}

TEST_CASE("backward_low_rank_kernel: dB over blocks of k and of rows of A, dY strided or not") {
  const auto lut = make_product_table<u8>(truncated{8});
  const auto low = low_rank_of(lut2d{16}.tables(lut), 8);
  // K*R = 4800: chunks of 64 rows of A; K*R*N = 307200: at least 3 blocks of k.
  const auto p = random_problem(lut.format(), 300, 64, 600);
  const auto want = reference(p, low.expand().db, false);
  std::vector<float> dy_t(p.n * p.m);  // dY stored transposed: a view with unit row stride
  for (std::size_t i = 0; i < p.m; ++i)
    for (std::size_t j = 0; j < p.n; ++j) dy_t[j * p.m + i] = p.dy[i * p.n + j];
  for (int threads : {1, 2})
    for (bool strided : {false, true}) {
      CAPTURE(threads);
      CAPTURE(strided);
      const kernel::host::backward_low_rank_kernel kernel(low, threads);
      const auto dy = strided ? row_major<const float>(dy_t.data(), p.n, p.m).transposed()
                              : row_major<const float>(p.dy.data(), p.m, p.n);
      std::vector<float> db(p.k * p.n, 7.0f);
      kernel.db(row_major<const code_t>(p.a.data(), p.m, p.k),
                row_major<const code_t>(p.b.data(), p.k, p.n), dy,
                row_major<float>(db.data(), p.k, p.n));
      check_close(db, want, 256.0 * 300);
    }
}

TEST_CASE("backward_low_rank_kernel: strided (transposed) operands and bad shapes") {
  const auto lut = make_product_table<u6>(truncated{4});
  const auto low = low_rank_of(lut2d{2}.tables(lut), 2);
  const kernel::host::backward_low_rank_kernel kernel(low, 1);
  const auto p = random_problem(lut.format(), 13, 9, 11);
  // B given as its transpose's transposed view.
  const auto bt = transposed_codes(p.b, p.k, p.n);
  const auto b_view = row_major<const code_t>(bt.data(), p.n, p.k).transposed();
  std::vector<float> da(p.m * p.k);
  kernel.da(row_major<const code_t>(p.a.data(), p.m, p.k), b_view,
            row_major<const float>(p.dy.data(), p.m, p.n), row_major<float>(da.data(), p.m, p.k));
  check_close(da, reference(p, low.expand().da, true), 64.0 * 13);
  std::vector<float> wrong(p.m * (p.k + 1));
  CHECK_THROWS_AS(kernel.da(row_major<const code_t>(p.a.data(), p.m, p.k),
                            row_major<const code_t>(p.b.data(), p.k, p.n),
                            row_major<const float>(p.dy.data(), p.m, p.n),
                            row_major<float>(wrong.data(), p.m, p.k + 1)),
                  amgrad::error);
}

TEST_CASE("appmult with lut2d_lowrank: both host paths agree, and the cost model picks") {
  lut2d_lowrank<2> gemm_scheme, table_scheme, auto_scheme;
  gemm_scheme.path = low_rank_path::gemm;
  table_scheme.path = low_rank_path::table;
  const appmult<truncated, u8, lut2d_lowrank<2>, host> via_gemm(truncated{8}, gemm_scheme);
  const appmult<truncated, u8, lut2d_lowrank<2>, host> via_table(truncated{8}, table_scheme);
  CHECK(via_gemm.backend_kernels().uses_low_rank_da(64, 64, 64));
  CHECK_FALSE(via_table.backend_kernels().uses_low_rank_da(64, 64, 64));
  const auto p = random_problem({8, false}, 40, 33, 50);
  const auto a = row_major<const code_t>(p.a.data(), p.m, p.k);
  const auto b = row_major<const code_t>(p.b.data(), p.k, p.n);
  const auto dy = row_major<const float>(p.dy.data(), p.m, p.n);
  std::vector<float> da1(p.m * p.k), da2(p.m * p.k), db1(p.k * p.n), db2(p.k * p.n);
  via_gemm.backward_da(a, b, dy, row_major<float>(da1.data(), p.m, p.k));
  via_table.backward_da(a, b, dy, row_major<float>(da2.data(), p.m, p.k));
  via_gemm.backward_db(a, b, dy, row_major<float>(db1.data(), p.k, p.n));
  via_table.backward_db(a, b, dy, row_major<float>(db2.data(), p.k, p.n));
  // The table kernel may run on int16 x16 fixed point: within sum_j |dY| / 32 per entry.
  for (std::size_t i = 0; i < da1.size(); ++i) CHECK(std::fabs(da1[i] - da2[i]) <= 33.0 / 32 + 1e-3);
  for (std::size_t i = 0; i < db1.size(); ++i) CHECK(std::fabs(db1[i] - db2[i]) <= 40.0 / 32 + 1e-3);

  // The cost rule: rank 1 beats the table kernel at 1024^3, a high rank does not.
  CHECK(detail::prefers_low_rank(1, 8, true, 1024, 1024, 1024, 1024.0 * 1024, 1024.0 * 1024));
  CHECK_FALSE(detail::prefers_low_rank(16, 8, true, 1024, 1024, 1024, 1024.0 * 1024, 1024.0 * 1024));
  CHECK(detail::prefers_low_rank(8, 8, false, 1024, 1024, 1024, 1024.0 * 1024, 1024.0 * 1024));
  const appmult<truncated, u8, lut2d_lowrank<2>, host> automatic(truncated{8}, auto_scheme);
  for (std::size_t m : {16u, 6400u, 1024u})
    CHECK(automatic.backend_kernels().uses_low_rank_da(m, 16, 150) ==
          detail::prefers_low_rank(2, 8, AMGRAD_HAS_AVX512VBMI != 0, double(m), 16, 150, 150.0 * 16,
                                   double(m) * 150));
}

#endif
