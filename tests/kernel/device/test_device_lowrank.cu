// The device low-rank backward (kernel/device/backward_lowrank.cuh: R maps, one cuBLAS sgemm and
// a combine per block of k) and its dispatch (kernels<device, low_rank_scheme>), against the
// double reference sum_j dY sum_r u_r(a) v_r(b), within float rounding, on ragged shapes,
// strided views, several blocks of k and empty sizes; against the host low-rank kernel (project
// build: amgrad::host); path = table against the table kernel; full rank against LUT-2D. Factors
// are random or the exact rank-n factorisation G(a, b) = sum_r [a = r] G(r, b), so that the
// standalone GPU build (bench/gpu, no LAPACKE) runs them all; the SVD is tested where LAPACKE is.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "amgrad/appmult.hpp"
#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/gradient/lut2d_lowrank.hpp"
#include "amgrad/kernel/device/backward_lowrank.cuh"
#include "amgrad/multiplier/exact.hpp"
#include "amgrad/multiplier/product_table.hpp"
#include "amgrad/multiplier/truncated.hpp"
#if AMGRAD_DEVICE_TEST_HOST
#include "amgrad/kernel/host/backward_lowrank.hpp"
#endif

using namespace amgrad;
namespace dev = amgrad::kernel::device;

namespace device_lowrank_test {

// A low-rank scheme with given factors: the dispatch runs on any of them. (In a named namespace:
// nvcc warns about the members of an unnamed one that only the concepts read.)
struct given_factors {
  static constexpr const char* name = "given_factors";
  static constexpr bool is_separable = false;
  static constexpr bool is_low_rank = true;
  low_rank_gradients factors;
  low_rank_path path = low_rank_path::automatic;

  low_rank_gradients low_rank(const product_table&) const { return factors; }
  gradient_tables tables(const product_table&) const { return factors.expand(); }
};

}  // namespace device_lowrank_test
using device_lowrank_test::given_factors;
static_assert(low_rank_scheme<given_factors>);

namespace {

std::mt19937_64& rng() {
  static std::mt19937_64 engine{0x10a7};
  return engine;
}
std::size_t random_size(std::size_t lo, std::size_t hi) {
  return std::uniform_int_distribution<std::size_t>(lo, hi)(rng());
}
std::vector<code_t> random_codes(operand_format f, std::size_t n) {
  std::uniform_int_distribution<int> d(0, f.size() - 1);
  std::vector<code_t> out(n);
  for (auto& c : out) c = static_cast<code_t>(d(rng()));
  return out;
}
std::vector<float> random_floats(std::size_t n) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> out(n);
  for (auto& x : out) x = d(rng());
  return out;
}

// Random factors of the given ranks (dA's and dB's may differ, as with dynamic_rank).
low_rank_gradients random_factors(operand_format f, int rank_da, int rank_db) {
  const auto table = [&](int rank) {
    low_rank_table t;
    t.rank = rank;
    t.u = random_floats(static_cast<std::size_t>(rank) * f.size());
    t.v = random_floats(static_cast<std::size_t>(rank) * f.size());
    return t;
  };
  return {f, table(rank_da), table(rank_db)};
}

// The exact rank-n factorisation G(a, b) = sum_r [a == r] G(r, b): full rank without an SVD.
low_rank_gradients identity_factors(const gradient_tables& g) {
  const operand_format f = g.da.format();
  const int n = f.size();
  const auto table = [&](const gradient_table& t) {
    low_rank_table out;
    out.rank = n;
    out.u.assign(static_cast<std::size_t>(n) * n, 0.0f);
    out.v.assign(static_cast<std::size_t>(n) * n, 0.0f);
    for (int r = 0; r < n; ++r) {
      out.u[static_cast<std::size_t>(r * n + r)] = 1.0f;
      for (int b = 0; b < n; ++b) out.v[static_cast<std::size_t>(r * n + b)] = t(r, b);
    }
    return out;
  };
  return {f, table(g.da), table(g.db)};
}

struct dims {
  std::size_t m, n, k;
};

// One problem on the host: row-major A (m x k), B (k x n), dY (m x n).
struct host_problem {
  std::size_t m, n, k;
  std::vector<code_t> a, b;
  std::vector<float> dy;
};
host_problem random_problem(operand_format f, std::size_t m, std::size_t n, std::size_t k) {
  return {m, n, k, random_codes(f, m * k), random_codes(f, k * n), random_floats(m * n)};
}

// What each output element must equal (double) and within what: the float error of an sgemm of
// depth D and a combine of R terms is below (D + R + 2) * 2^-24 * sum |terms|, and
// sum |terms| <= max_{a,b} sum_r |u_r(a) v_r(b)| * sum |dY| over the reduction; doubled.
struct expected {
  std::vector<double> value, bound;
};

// G as n x n doubles from factors, and max_{a,b} sum_r |u_r(a) v_r(b)|.
std::vector<double> expand(const low_rank_table& t, int n, double& max_abs) {
  std::vector<double> g(static_cast<std::size_t>(n) * n, 0.0);
  max_abs = 0;
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < n; ++b) {
      double sum = 0, abs_sum = 0;
      for (int r = 0; r < t.rank; ++r) {
        const double x = static_cast<double>(t.u[static_cast<std::size_t>(r * n + a)]) *
                         t.v[static_cast<std::size_t>(r * n + b)];
        sum += x;
        abs_sum += std::abs(x);
      }
      g[static_cast<std::size_t>(a * n + b)] = sum;
      max_abs = std::max(max_abs, abs_sum);
    }
  return g;
}

// dA (for_a) or dB of `p` through the n x n table g, with the bound for an R-term combine.
expected reference(const host_problem& p, const std::vector<double>& g, int n, double max_abs,
                   int rank, bool for_a) {
  const std::size_t rows = for_a ? p.m : p.k, cols = for_a ? p.k : p.n;
  expected e{std::vector<double>(rows * cols, 0.0), std::vector<double>(rows * cols, 0.0)};
  std::vector<double> abs_dy(for_a ? p.m : p.n, 0.0);
  for (std::size_t i = 0; i < p.m; ++i)
    for (std::size_t j = 0; j < p.n; ++j) {
      const double dy = p.dy[i * p.n + j];
      abs_dy[for_a ? i : j] += std::abs(dy);
      for (std::size_t q = 0; q < p.k; ++q) {
        const double x = dy * g[static_cast<std::size_t>(p.a[i * p.k + q]) * n + p.b[q * p.n + j]];
        e.value[for_a ? i * p.k + q : q * p.n + j] += x;
      }
    }
  const double depth = static_cast<double>(for_a ? p.n : p.m);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c)
      e.bound[r * cols + c] =
          2.0 * (depth + rank + 2) * 0x1p-24 * max_abs * abs_dy[for_a ? r : c] + 1e-6;
  return e;
}

void check_within(const char* what, const std::vector<float>& got, const expected& want) {
  REQUIRE(got.size() == want.value.size());
  std::size_t bad = 0, first = 0;
  for (std::size_t e = 0; e < got.size(); ++e)
    if (!(std::abs(got[e] - want.value[e]) <= want.bound[e]) && bad++ == 0) first = e;  // NaN: bad
  INFO(what, ": ", bad, " of ", got.size(), " elements off; first at ", first, ": got ",
       bad ? got[first] : 0.0f, ", want ", bad ? want.value[first] : 0.0, " +- ",
       bad ? want.bound[first] : 0.0);
  CHECK(bad == 0);
}

enum class layout { contiguous, strided };

// A problem on the device. Strided: A and B stored transposed (column-major codes), dY with padded
// rows (NaN in the padding: a read of it would show), dA column-major with padding, dB with padded
// rows; so every stride the kernels accept is exercised.
struct device_problem {
  std::size_t m, n, k;
  layout how;
  dev::buffer<code_t> a, b;
  dev::buffer<float> dy, da, db;
  matrix_view<const code_t> av, bv;
  matrix_view<const float> dyv;
  matrix_view<float> dav, dbv;

  device_problem(const host_problem& p, layout l) : m(p.m), n(p.n), k(p.k), how(l) {
    if (how == layout::contiguous) {
      a = dev::buffer<code_t>(p.a);
      b = dev::buffer<code_t>(p.b);
      dy = dev::buffer<float>(p.dy);
      da = dev::buffer<float>(m * k);
      db = dev::buffer<float>(k * n);
      av = row_major(a.data(), m, k);
      bv = row_major(b.data(), k, n);
      dyv = row_major(dy.data(), m, n);
      dav = row_major(da.data(), m, k);
      dbv = row_major(db.data(), k, n);
    } else {
      std::vector<code_t> at(k * m), bt(n * k);
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t q = 0; q < k; ++q) at[q * m + i] = p.a[i * k + q];
      for (std::size_t q = 0; q < k; ++q)
        for (std::size_t j = 0; j < n; ++j) bt[j * k + q] = p.b[q * n + j];
      std::vector<float> padded(m * (n + 3), std::nanf(""));
      for (std::size_t i = 0; i < m; ++i)
        std::copy_n(p.dy.begin() + static_cast<std::ptrdiff_t>(i * n), n,
                    padded.begin() + static_cast<std::ptrdiff_t>(i * (n + 3)));
      a = dev::buffer<code_t>(at);
      b = dev::buffer<code_t>(bt);
      dy = dev::buffer<float>(padded);
      da = dev::buffer<float>(k * (m + 2));
      db = dev::buffer<float>(k * (n + 5));
      av = row_major(a.data(), k, m).transposed();
      bv = row_major(b.data(), n, k).transposed();
      dyv = row_major(dy.data(), m, n, n + 3);
      dav = row_major(da.data(), k, m, m + 2).transposed();
      dbv = row_major(db.data(), k, n, n + 5);
    }
    poison();
  }

  // Outputs := NaN, so that an element no kernel wrote fails the check.
  void poison() {
    if (da.size() != 0) AMGRAD_CUDA_CHECK(cudaMemset(da.data(), 0xff, da.bytes()));
    if (db.size() != 0) AMGRAD_CUDA_CHECK(cudaMemset(db.data(), 0xff, db.bytes()));
  }
  static std::vector<float> dense(const dev::buffer<float>& buf, const matrix_view<float>& v) {
    AMGRAD_CUDA_CHECK(cudaDeviceSynchronize());
    const auto all = buf.download();
    std::vector<float> out(v.rows * v.cols);
    for (std::size_t r = 0; r < v.rows; ++r)
      for (std::size_t c = 0; c < v.cols; ++c)
        out[r * v.cols + c] = all[static_cast<std::size_t>(
            static_cast<std::ptrdiff_t>(r) * v.row_stride + static_cast<std::ptrdiff_t>(c) * v.col_stride)];
    return out;
  }
  std::vector<float> get_da() const { return dense(da, dav); }
  std::vector<float> get_db() const { return dense(db, dbv); }
};

// The double reference of both passes of the factors `g` on `p`.
struct references {
  expected da, db;
};
references references_for(const low_rank_gradients& g, const host_problem& p) {
  const int n = g.format.size();
  double max_da = 0, max_db = 0;
  const auto ga = expand(g.da, n, max_da), gb = expand(g.db, n, max_db);
  return {reference(p, ga, n, max_da, g.da.rank, true), reference(p, gb, n, max_db, g.db.rank, false)};
}

// The device kernel (and, in the project build, the host kernel) on one problem, both layouts.
void check_kernel(const low_rank_gradients& g, const host_problem& p, std::size_t block_floats) {
  CAPTURE(p.m);
  CAPTURE(p.n);
  CAPTURE(p.k);
  CAPTURE(block_floats);
  const auto want = references_for(g, p);
  const dev::backward_low_rank_kernel device_kernel(g, block_floats);
  CHECK(device_kernel.rank_da() == g.da.rank);
  CHECK(device_kernel.rank_db() == g.db.rank);
  std::vector<float> device_da, device_db;
  for (const layout how : {layout::contiguous, layout::strided}) {
    CAPTURE(how == layout::strided);
    device_problem d(p, how);
    device_kernel.da(d.av, d.bv, d.dyv, d.dav);
    device_kernel.db(d.av, d.bv, d.dyv, d.dbv);
    device_da = d.get_da();
    device_db = d.get_db();
    check_within("device dA", device_da, want.da);
    check_within("device dB", device_db, want.db);
  }
#if AMGRAD_DEVICE_TEST_HOST
  const kernel::host::backward_low_rank_kernel host(g, 1);
  std::vector<float> host_da(p.m * p.k), host_db(p.k * p.n);
  host.da(row_major(p.a.data(), p.m, p.k), row_major(p.b.data(), p.k, p.n),
          row_major(p.dy.data(), p.m, p.n), row_major(host_da.data(), p.m, p.k));
  host.db(row_major(p.a.data(), p.m, p.k), row_major(p.b.data(), p.k, p.n),
          row_major(p.dy.data(), p.m, p.n), row_major(host_db.data(), p.k, p.n));
  check_within("host dA", host_da, want.da);
  check_within("host dB", host_db, want.db);
  // Device against host: each is within the bound of the reference, so within twice it.
  expected twice_da{std::vector<double>(host_da.begin(), host_da.end()), want.da.bound};
  expected twice_db{std::vector<double>(host_db.begin(), host_db.end()), want.db.bound};
  for (auto& b : twice_da.bound) b *= 2;
  for (auto& b : twice_db.bound) b *= 2;
  check_within("device dA - host dA", device_da, twice_da);
  check_within("device dB - host dB", device_db, twice_db);
#endif
}

}  // namespace

TEST_CASE("device low-rank kernel: dA, dB equal the double reference (ragged, strided, blocks of k)") {
  for (const operand_format f : {u6::format, s7::format, u8::format}) {
    CAPTURE(to_string(f));
    for (const auto& ranks : {std::pair{1, 1}, std::pair{4, 3}, std::pair{16, 16}}) {
      CAPTURE(ranks.first);
      CAPTURE(ranks.second);
      const auto g = random_factors(f, ranks.first, ranks.second);
      for (int trial = 0; trial < 3; ++trial) {
        // The last trial has long reductions on both sides and a short k (thin GEMMs).
        const bool long_reduction = trial == 2;
        const auto p = long_reduction
                           ? random_problem(f, random_size(1000, 2000), random_size(300, 800),
                                            random_size(1, 40))
                           : random_problem(f, random_size(1, 200), random_size(1, 200),
                                            random_size(1, 200));
        check_kernel(g, p, dev::backward_low_rank_kernel::default_block_floats);
        // A small bound on the intermediates: many blocks of k, the last one ragged.
        if (trial == 0) check_kernel(g, p, 997);
      }
    }
  }
}

TEST_CASE("device low-rank kernel: block depth bounds the intermediates") {
  const dev::backward_low_rank_kernel kernel(random_factors(u8::format, 2, 2), 1000);
  CHECK(kernel.block_depth(300, 2, 10, 20) == 25);    // 2 * 20 * 25 = 1000
  CHECK(kernel.block_depth(7, 2, 10, 20) == 7);       // all of k
  CHECK(kernel.block_depth(300, 16, 5000, 20) == 1);  // at least one column
  CHECK(dev::backward_low_rank_kernel(random_factors(u8::format, 16, 16))
            .block_depth(1024, 16, 1024, 1024) == 1024);  // 1024^3 at R = 16: one GEMM
}

TEST_CASE("device low-rank kernel: empty sizes, rank 0, and dY's layout") {
  const auto g = random_factors(u8::format, 3, 2);
  const dev::backward_low_rank_kernel kernel(g);
  for (const dims& s : std::vector<dims>{{0, 5, 7}, {5, 0, 7}, {5, 7, 0}, {0, 0, 0}, {1, 1, 1}}) {
    CAPTURE(s.m);
    CAPTURE(s.n);
    CAPTURE(s.k);
    const auto p = random_problem(g.format, s.m, s.n, s.k);
    const auto want = references_for(g, p);
    for (const layout how : {layout::contiguous, layout::strided}) {
      device_problem d(p, how);
      CHECK_NOTHROW(kernel.da(d.av, d.bv, d.dyv, d.dav));
      CHECK_NOTHROW(kernel.db(d.av, d.bv, d.dyv, d.dbv));
      check_within("dA", d.get_da(), want.da);  // zeros where the reduction is empty
      check_within("dB", d.get_db(), want.db);
    }
  }
  // Rank 0 (no factor at all): zero gradients.
  const auto none = random_factors(u8::format, 0, 0);
  const dev::backward_low_rank_kernel zero_rank(none);
  const auto p = random_problem(none.format, 9, 10, 11);
  device_problem d(p, layout::strided);
  zero_rank.da(d.av, d.bv, d.dyv, d.dav);
  zero_rank.db(d.av, d.bv, d.dyv, d.dbv);
  for (float x : d.get_da()) CHECK(x == 0.0f);
  for (float x : d.get_db()) CHECK(x == 0.0f);
  // dY must have a unit column stride (cuBLAS reads it in place): a column-major one is refused.
  const matrix_view<const float> column_major_dy{d.dy.data(), p.m, p.n, 1,
                                                 static_cast<std::ptrdiff_t>(p.m)};
  CHECK_THROWS_WITH_AS(kernel.da(d.av, d.bv, column_major_dy, d.dav),
                       doctest::Contains("dY must be row-major"), amgrad::error);
  CHECK_THROWS_WITH_AS(kernel.db(d.av, d.bv, column_major_dy, d.dbv),
                       doctest::Contains("dY must be row-major"), amgrad::error);
}

namespace {

template <class Operand>
using factor_engine = appmult<exact, Operand, given_factors, device>;

// One pass (dA or dB) of the engine against a kernel's, on a strided layout: the same bits when
// the engine runs that very kernel (bitwise), else both within the reference's bound.
template <class Engine, class Kernel>
void check_pass(bool for_a, const Engine& e, const Kernel& kernel, const host_problem& p,
                bool bitwise, const references& want) {
  CAPTURE(for_a);
  device_problem x(p, layout::strided), y(p, layout::strided);
  if (for_a) {
    e.backward_da(x.av, x.bv, x.dyv, x.dav);
    kernel.da(y.av, y.bv, y.dyv, y.dav);
  } else {
    e.backward_db(x.av, x.bv, x.dyv, x.dbv);
    kernel.db(y.av, y.bv, y.dyv, y.dbv);
  }
  const auto got = for_a ? x.get_da() : x.get_db(), other = for_a ? y.get_da() : y.get_db();
  if (bitwise) {
    CHECK(got == other);
  } else {
    check_within("dispatched", got, for_a ? want.da : want.db);
    check_within("kernel", other, for_a ? want.da : want.db);
  }
}

}  // namespace

TEST_CASE("device low-rank dispatch: path = table runs the table kernel, gemm the low-rank one") {
  const auto g = random_factors(u8::format, 2, 3);
  const factor_engine<u8> via_table(exact{}, given_factors{g, low_rank_path::table});
  const factor_engine<u8> via_gemm(exact{}, given_factors{g, low_rank_path::gemm});
  const factor_engine<u8> automatic(exact{}, given_factors{g, low_rank_path::automatic});
  CHECK_FALSE(via_table.backend_kernels().uses_low_rank_da(512, 512, 512));
  CHECK(via_gemm.backend_kernels().uses_low_rank_db(8, 8, 8));
  // With the default (estimated) device cost model: R GEMMs at a large square shape, the table
  // kernel at a tiny one (launches dominate).
  CHECK(automatic.backend_kernels().uses_low_rank_da(512, 512, 512));
  CHECK(automatic.backend_kernels().uses_low_rank_db(512, 512, 512));
  CHECK_FALSE(automatic.backend_kernels().uses_low_rank_da(8, 8, 8));
  CHECK_FALSE(automatic.backend_kernels().uses_low_rank_db(8, 8, 8));

  const dev::backward_table_kernel table(g.expand());
  const dev::backward_low_rank_kernel low_rank(g);
  for (const dims& s : std::vector<dims>{{8, 8, 8}, {77, 130, 45}, {512, 512, 512}}) {
    CAPTURE(s.m);
    CAPTURE(s.n);
    CAPTURE(s.k);
    const auto p = random_problem(g.format, s.m, s.n, s.k);
    const auto want = references_for(g, p);
    const auto& kernels = automatic.backend_kernels();
    for (const bool for_a : {true, false}) {
      check_pass(for_a, via_table, table, p, true, want);  // the same kernel: the same bits
      check_pass(for_a, via_gemm, low_rank, p, false, want);
      if (for_a ? kernels.uses_low_rank_da(s.m, s.n, s.k) : kernels.uses_low_rank_db(s.m, s.n, s.k))
        check_pass(for_a, automatic, low_rank, p, false, want);
      else
        check_pass(for_a, automatic, table, p, true, want);
    }
  }
}

namespace {

// LUT-2D's gradients through `g` (a full-rank factorisation of its tables) on the device's GEMM
// path, against the double reference over the LUT-2D tables themselves.
template <class Operand, class Scheme>
void check_full_rank(const Scheme& scheme, const gradient_tables& lut2d_tables) {
  const appmult<truncated, Operand, Scheme, device> e(truncated{4}, scheme);
  const int n = Operand::size;
  std::vector<double> ga(lut2d_tables.da.values().begin(), lut2d_tables.da.values().end());
  std::vector<double> gb(lut2d_tables.db.values().begin(), lut2d_tables.db.values().end());
  // The float factors' own rounding: within the bound's (R + 2) terms of max sum_r |u_r v_r|.
  double max_da = 0, max_db = 0;
  const auto factors = scheme.low_rank(e.lut());
  (void)expand(factors.da, n, max_da);
  (void)expand(factors.db, n, max_db);
  REQUIRE(factors.da.rank == n);
  for (int trial = 0; trial < 3; ++trial) {
    const auto p = random_problem(Operand::format, random_size(1, 150), random_size(1, 150),
                                  random_size(1, 150));
    CAPTURE(p.m);
    CAPTURE(p.n);
    CAPTURE(p.k);
    const auto want_da = reference(p, ga, n, max_da, n, true);
    const auto want_db = reference(p, gb, n, max_db, n, false);
    device_problem d(p, trial == 0 ? layout::strided : layout::contiguous);
    e.backward_da(d.av, d.bv, d.dyv, d.dav);
    e.backward_db(d.av, d.bv, d.dyv, d.dbv);
    check_within("full-rank dA", d.get_da(), want_da);
    check_within("full-rank dB", d.get_db(), want_db);
  }
}

}  // namespace

TEST_CASE("device low-rank at full rank equals LUT-2D within float error") {
  const auto check = [](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    const auto lut = make_product_table<Op>(truncated{4});
    const auto g = lut2d{}.tables(lut);
    check_full_rank<Op>(given_factors{identity_factors(g), low_rank_path::gemm}, g);
#if AMGRAD_HAS_LAPACKE
    // The truncated SVD at full rank (lut2d_lowrank<n>): LUT-2D again, within float error.
    lut2d_lowrank<Op::size> svd;
    svd.path = low_rank_path::gemm;
    check_full_rank<Op>(svd, lut2d{svd.hws, svd.boundary}.tables(lut));
#endif
  };
  check(std::type_identity<u6>{});
  check(std::type_identity<u8>{});
}
