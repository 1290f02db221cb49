// The fast forward kernels against kernel::reference::forward: bit-exact on every path this
// machine can run, on random ragged shapes, leading dimensions, transposed views, K across the
// u16 flush interval, and tables at and beyond the 16-bit range.
#include <array>
#include <functional>
#include <string>

#include "support_host.hpp"

using namespace amgrad;
namespace host = amgrad::kernel::host;

namespace {

// A problem with operands stored with padding (leading dimension > cols) and, optionally, B
// stored transposed (N x K), so that the kernels see every view shape they must handle.
struct problem {
  std::size_t m, n, k;
  bool padded, b_transposed;
  std::vector<code_t> a, b;
  matrix_view<const code_t> av, bv;

  problem(operand_format f, std::size_t m_, std::size_t n_, std::size_t k_, bool padded_,
          bool b_transposed_)
      : m(m_), n(n_), k(k_), padded(padded_), b_transposed(b_transposed_) {
    const std::size_t lda = k + (padded ? 5 : 0);
    a = test::random_codes(f, m * lda);
    av = row_major<const code_t>(a.data(), m, k, lda);
    if (b_transposed) {
      const std::size_t ldb = k + (padded ? 3 : 0);
      b = test::random_codes(f, n * ldb);
      bv = row_major<const code_t>(b.data(), n, k, ldb).transposed();
    } else {
      const std::size_t ldb = n + (padded ? 7 : 0);
      b = test::random_codes(f, k * ldb);
      bv = row_major<const code_t>(b.data(), k, n, ldb);
    }
  }
};

constexpr host::forward_path all_paths[] = {
    host::forward_path::portable_i32, host::forward_path::portable_u16,
    host::forward_path::vbmi_columns, host::forward_path::vbmi_rows};

// Runs every path and the dispatching kernel on p, each into a padded output, against the
// reference. Acc is the output type.
template <class Acc>
void check_all_paths(const product_table& lut, const problem& p, int threads = 2) {
  std::vector<Acc> expected(p.m * p.n);
  kernel::reference::forward(lut, p.av, p.bv, row_major(expected.data(), p.m, p.n));
  const std::size_t ldy = p.n + (p.padded ? 2 : 0);
  auto check = [&](const std::string& name, auto&& run, bool transposed_out) {
    CAPTURE(name);
    CAPTURE(transposed_out);
    std::vector<Acc> y(p.m * ldy + p.n * p.m, Acc{-7});
    const auto yv = transposed_out ? row_major(y.data(), p.n, p.m).transposed()
                                   : row_major(y.data(), p.m, p.n, ldy);
    run(yv);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < p.m; ++i)
      for (std::size_t j = 0; j < p.n; ++j) wrong += yv(i, j) != expected[i * p.n + j];
    CHECK(wrong == 0);
    if (!transposed_out && p.padded)  // padding between rows is untouched
      for (std::size_t i = 0; i < p.m; ++i)
        for (std::size_t j = p.n; j < ldy; ++j) REQUIRE(y[i * ldy + j] == Acc{-7});
  };
  const host::forward_kernel kernel(lut, threads);
  for (const auto path : all_paths)
    if (kernel.available(path))
      check(host::to_string(path), [&](matrix_view<Acc> y) { kernel.run(path, p.av, p.bv, y); },
            false);
  check(std::string("forward_kernel: ") + host::to_string(kernel.path(p.m, p.n)),
        [&](matrix_view<Acc> y) { kernel(p.av, p.bv, y); }, p.b_transposed);
}

}  // namespace

TEST_CASE("every forward path is bit-exact on random ragged shapes, all widths, all models") {
  hana::for_each(test::kernel_test_models(), [](const auto& model) {
    using Model = std::decay_t<decltype(model)>;
    hana::for_each(test::widths_2_to_8, [&](auto t) {
      using Op = typename decltype(t)::type;
      if constexpr (Model::supports_signed || !Op::is_signed) {
        CAPTURE(Model::name);
        CAPTURE(to_string(Op::format));
        const auto lut = make_product_table<Op>(model);
        for (int trial = 0; trial < 2; ++trial) {
          const auto m = test::random_size(1, 300), n = test::random_size(1, 300),
                     k = test::random_size(1, 300);
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(k);
          check_all_paths<std::int32_t>(lut, problem(Op::format, m, n, k, trial == 1, trial == 1));
        }
      }
    });
  });
}

TEST_CASE("forward paths are exact with K beyond the u16 flush interval, narrow and wide N") {
  const auto u8_exact = make_product_table<u8>(exact{});
  const auto s8_exact = make_product_table<s8>(exact{});
  for (auto [m, n, k] : {std::array<std::size_t, 3>{37, 131, 1100}, {200, 5, 1031}, {3, 260, 777},
                         {129, 64, 513}, {65, 63, 257}}) {
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    check_all_paths<std::int32_t>(u8_exact, problem(u8::format, m, n, k, false, false));
    check_all_paths<std::int64_t>(s8_exact, problem(s8::format, m, n, k, true, true), 1);
  }
}

TEST_CASE("forward paths are exact on tables at the edge of and beyond the 16-bit range") {
  const operand_format u8f{8, false}, s8f{8, true}, u7f{7, false};
  // Every stored entry at 65535 (the largest u16 byte pair) except one: the worst case for the
  // u16 plane sums before a flush.
  product_table full_u16(u8f, 65535);
  full_u16(0, 0) = 0;
  product_table full_s16(s8f, 32767);
  full_s16(3, 0) = -32768;
  product_table wide_u(u7f, 0);  // max - min = 65536: needs 17 bits, so the int32 path
  for (std::size_t i = 0; i < wide_u.size(); ++i) wide_u.data()[i] = (i % 3 == 0) ? 65536 : int(i);
  wide_u(0, 1) = 0;
  const auto random_wide = test::random_table(s8f, -5'000'000, 5'000'000);
  const auto random_16 = test::random_table(u7f, -40000, 25535);

  constexpr auto u16 = host::forward_path::portable_u16;
  CHECK(host::forward_kernel(full_u16).available(u16));
  CHECK(host::forward_kernel(full_s16).available(u16));
  CHECK(host::forward_kernel(random_16).available(u16));
  CHECK_FALSE(host::forward_kernel(wide_u).available(u16));
  CHECK_FALSE(host::forward_kernel(random_wide).available(u16));
  CHECK(host::forward_kernel(wide_u).path(64, 64) == host::forward_path::portable_i32);

  for (const product_table* lut : std::initializer_list<const product_table*>{&full_u16, &full_s16, &wide_u, &random_wide, &random_16}) {
    const auto f = lut->format();
    check_all_paths<std::int64_t>(*lut, problem(f, 33, 140, 1100, false, false));
    check_all_paths<std::int64_t>(*lut, problem(f, 150, 9, 600, true, true));
  }
  // int32 output: wraps exactly as the reference's cast of its int64 sum does.
  check_all_paths<std::int32_t>(full_u16, problem(u8f, 20, 70, 300, false, false));
}

TEST_CASE("forward through a table_multiplier with values needing more than 16 bits") {
  const auto big = test::random_table(operand_format{6, true}, -100000, 100000);
  const table_multiplier model(big);
  const auto lut = make_product_table<s6>(model);
  CHECK(lut == big);
  check_all_paths<std::int64_t>(lut, problem(s6::format, 90, 77, 400, true, false));
}

TEST_CASE("forward results do not depend on the thread count") {
  const auto lut = make_product_table<u8>(truncated{3});
  const problem p(u8::format, 211, 190, 300, false, false);
  std::vector<std::int32_t> y1(p.m * p.n), y2(p.m * p.n), y3(p.m * p.n);
  host::forward_kernel(lut, 1)(p.av, p.bv, row_major(y1.data(), p.m, p.n));
  host::forward_kernel(lut, 2)(p.av, p.bv, row_major(y2.data(), p.m, p.n));
  host::forward_kernel(lut, 3)(p.av, p.bv, row_major(y3.data(), p.m, p.n));
  CHECK(y1 == y2);
  CHECK(y1 == y3);
}

TEST_CASE("empty shapes and K = 0 give zeros") {
  const auto lut = make_product_table<s4>(exact{});
  std::vector<code_t> none;
  std::vector<std::int32_t> y(12, 5);
  host::forward_kernel{lut}(row_major<const code_t>(none.data(), 3, 0),
                            row_major<const code_t>(none.data(), 0, 4), row_major(y.data(), 3, 4));
  CHECK(std::all_of(y.begin(), y.end(), [](auto v) { return v == 0; }));
}

#if defined(__x86_64__) && defined(__GNUC__)
TEST_CASE("a VBMI machine builds and runs the VBMI path") {
  // The tests are built with -march=native: on a CPU with VBMI the vector kernel must be the one
  // compiled in, or CI would silently test only the portable path.
  if (__builtin_cpu_supports("avx512vbmi")) CHECK(AMGRAD_HAS_AVX512VBMI == 1);
  MESSAGE("AVX-512 VBMI kernels compiled: ", AMGRAD_HAS_AVX512VBMI);
}
#endif

TEST_CASE("appmult runs the host kernels on the thread count it is given") {
  const appmult<truncated, u8, lut1d> engine(truncated{2}, lut1d{}, amgrad::host{2});
  const problem p(u8::format, 70, 90, 300, true, true);
  std::vector<std::int32_t> y(p.m * p.n), expected(p.m * p.n);
  engine.forward(p.av, p.bv, row_major(y.data(), p.m, p.n));
  kernel::reference::forward(engine.lut(), p.av, p.bv, row_major(expected.data(), p.m, p.n));
  CHECK(y == expected);
}

TEST_CASE("the forward kernel used directly refuses wide codes, bad shapes and int32 overflow") {
  const host::forward_kernel narrow(make_product_table<s7>(exact{}), 1);
  std::vector<code_t> a(2 * 3, 5), b(3 * 4, 7);
  std::vector<std::int32_t> y(2 * 4);
  a[4] = 128;  // one past the 7-bit range: it would read past the row tables
  CHECK_THROWS_WITH_AS(narrow(row_major<const code_t>(a.data(), 2, 3),
                              row_major<const code_t>(b.data(), 3, 4), row_major(y.data(), 2, 4)),
                       doctest::Contains("A(1, 1) = 128 is not a 7-bit code"), amgrad::error);
  a[4] = 127;
  CHECK_THROWS_WITH_AS(narrow(row_major<const code_t>(a.data(), 2, 3),
                              row_major<const code_t>(b.data(), 3, 4), row_major(y.data(), 4, 2)),
                       doctest::Contains("output is 4x2 but A*B is 2x4"), amgrad::error);

  const host::forward_kernel wide(make_product_table<u8>(exact{}), 1);
  const std::size_t k = 40000;  // 40000 * 255 * 255 > 2^31 - 1
  std::vector<code_t> row(k, 255), col(k, 255);
  std::vector<std::int32_t> y32(1);
  CHECK_THROWS_WITH_AS(wide(row_major<const code_t>(row.data(), 1, k),
                            row_major<const code_t>(col.data(), k, 1), row_major(y32.data(), 1, 1)),
                       doctest::Contains("can overflow an int32 accumulator"), amgrad::error);
}
