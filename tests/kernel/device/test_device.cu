// The CUDA kernels against the host reference kernels, on random ragged shapes and on two
// operand distributions: bit-exact forward (every table storage, with and without split-K),
// backward within the fixed-point bound (LUT-2D) or float rounding (STE, LUT-1D). The generic
// Thrust path runs on the CUDA backend as a second reference.
#include <doctest/doctest.h>

#include <boost/hana.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "amgrad/gradient/lut1d.hpp"
#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/gradient/ste.hpp"
#include "amgrad/appmult.hpp"
#include "amgrad/kernel/reference.hpp"
#include "amgrad/kernel/generic/kernels.hpp"
#include "amgrad/multiplier/exact.hpp"
#include "amgrad/multiplier/table_multiplier.hpp"
#include "amgrad/multiplier/truncated.hpp"
#include "amgrad/multiplier/product_table.hpp"

namespace hana = boost::hana;
using namespace amgrad;
namespace dev = amgrad::kernel::device;

namespace {

std::mt19937_64& rng() {
  static std::mt19937_64 engine{0xc0da};
  return engine;
}
std::size_t random_size(std::size_t lo, std::size_t hi) {
  return std::uniform_int_distribution<std::size_t>(lo, hi)(rng());
}

enum class distribution { uniform, realistic };

// uniform codes; or "realistic": ReLU-like activations (about half exactly the zero code, the rest
// small) for A, Gaussian weights around the middle code for B.
template <class Operand>
std::vector<code_t> random_codes(std::size_t n, distribution d, bool activation) {
  std::vector<code_t> out(n);
  std::uniform_int_distribution<int> uniform(0, Operand::size - 1);
  std::normal_distribution<double> normal(Operand::size / 2.0, Operand::size / 8.0);
  std::exponential_distribution<double> tail(8.0 / Operand::size);
  std::bernoulli_distribution zero(0.5);
  for (auto& c : out) {
    int v = uniform(rng());
    if (d == distribution::realistic)
      v = activation ? (zero(rng()) ? 0 : static_cast<int>(tail(rng())))
                     : static_cast<int>(std::lround(normal(rng())));
    c = static_cast<code_t>(std::clamp(v, 0, Operand::size - 1));
  }
  return out;
}

std::vector<float> random_floats(std::size_t n) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> out(n);
  for (auto& x : out) x = d(rng());
  return out;
}

template <class T>
matrix_view<T> device_view(dev::buffer<T>& b, std::size_t rows, std::size_t cols) {
  return row_major(b.data(), rows, cols);
}

const auto models = hana::make_tuple(exact{}, truncated{5});
constexpr auto operands = hana::tuple_t<u4, u7, u8, s6, s8>;

template <class Operand, class Model>
void check_forward(const Model& model, distribution d) {
  const auto lut = make_product_table<Operand>(model);
  const dev::forward_kernel kernel(lut);
  CAPTURE(dev::to_string(kernel.storage()));
  CHECK(kernel.storage() != dev::table_storage::global_int32);
  const kernel::generic::tables generic(lut, ste{}.tables(lut));
  for (int trial = 0; trial < 4; ++trial) {
    // Ragged sizes around the 128 x 128 block tile and the 32-deep K tile; the last trial has a
    // small output and a long K, which split-K spreads over the GPU.
    const bool long_k = trial == 3;
    const auto m = long_k ? random_size(1, 70) : random_size(1, 300);
    const auto n = long_k ? random_size(1, 70) : random_size(1, 300);
    const auto k = long_k ? random_size(3000, 9000) : random_size(1, 200);
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    const auto a = random_codes<Operand>(m * k, d, true);
    const auto b = random_codes<Operand>(k * n, d, false);
    std::vector<std::int32_t> expected(m * n);
    kernel::reference::forward(lut, row_major(a.data(), m, k), row_major(b.data(), k, n),
                               row_major(expected.data(), m, n));
    std::vector<code_t> bt(n * k);
    for (std::size_t p = 0; p < k; ++p)
      for (std::size_t j = 0; j < n; ++j) bt[j * k + p] = b[p * n + j];
    dev::buffer<code_t> da(a), db(b), dbt(bt);
    dev::buffer<std::int32_t> dy(m * n);
    const auto av = device_view(da, m, k);
    const std::vector<matrix_view<const code_t>> b_views{device_view(db, k, n),
                                                         device_view(dbt, n, k).transposed()};
    for (const int splits : {0, 1, 3})
      for (const auto& bv : b_views) {
        CAPTURE(splits);
        AMGRAD_CUDA_CHECK(cudaMemset(dy.data(), 0xff, dy.bytes()));
        kernel(av, bv, device_view(dy, m, n), nullptr, splits);
        AMGRAD_CUDA_CHECK(cudaStreamSynchronize(nullptr));
        REQUIRE(dy.download() == expected);
      }
    AMGRAD_CUDA_CHECK(cudaMemset(dy.data(), 0xff, dy.bytes()));
    generic.forward(thrust::cuda::par, av, b_views[0], device_view(dy, m, n));
    REQUIRE(dy.download() == expected);
  }
}

}  // namespace

TEST_CASE("device forward equals the reference bit for bit (16-bit shared tables, split-K)") {
  hana::for_each(models, [](const auto& model) {
    hana::for_each(operands, [&](auto t) {
      using Op = typename decltype(t)::type;
      CAPTURE(to_string(Op::format));
      check_forward<Op>(model, distribution::uniform);
      check_forward<Op>(model, distribution::realistic);
    });
  });
}

namespace device_test {
// 3ab + 1 reaches 195076 on u8: no 16-bit type holds it.
struct wide_product {
  static constexpr const char* name = "wide";
  static constexpr bool supports_signed = false;
  template <class Operand>
  AMGRAD_HOST_DEVICE constexpr std::int32_t operator()(Operand, int a, int b) const {
    return 3 * a * b + 1;
  }
};
}  // namespace device_test
using device_test::wide_product;

TEST_CASE("tables beyond 16 bits run the 32-bit global-memory kernel, still bit-exact") {
  const auto lut = make_product_table<u8>(wide_product{});
  const dev::forward_kernel kernel(lut);
  CHECK(kernel.storage() == dev::table_storage::global_int32);
  const std::size_t m = 200, n = 333, k = 1000;
  const auto a = random_codes<u8>(m * k, distribution::uniform, true);
  const auto b = random_codes<u8>(k * n, distribution::uniform, false);
  std::vector<std::int32_t> expected(m * n);
  kernel::reference::forward(lut, row_major(a.data(), m, k), row_major(b.data(), k, n),
                             row_major(expected.data(), m, n));
  dev::buffer<code_t> da(a), db(b);
  dev::buffer<std::int32_t> dy(m * n);
  for (const int splits : {0, 1, 5}) {
    kernel(device_view(da, m, k), device_view(db, k, n), device_view(dy, m, n), nullptr, splits);
    CHECK(dy.download() == expected);
  }
}

namespace {

template <class Operand, class Scheme>
void check_backward(const Scheme& scheme, distribution d, bool fixed_point) {
  const auto lut = make_product_table<Operand>(truncated{4});
  const auto g = scheme.tables(lut);
  const appmult<truncated, Operand, Scheme, device> engine(truncated{4}, scheme);
  const kernel::generic::tables generic(lut, g);
  double max_g = 0;
  for (std::size_t e = 0; e < g.da.size(); ++e)
    max_g = std::max({max_g, std::abs(double(g.da.data()[e])), std::abs(double(g.db.data()[e]))});
  for (int trial = 0; trial < 3; ++trial) {
    // The last trial has narrow outputs and long reductions: the LUT-2D kernel splits them.
    const bool long_reduction = trial == 2;
    const auto m = long_reduction ? random_size(1000, 3000) : random_size(1, 300);
    const auto n = long_reduction ? random_size(600, 2000) : random_size(1, 300);
    const auto k = long_reduction ? random_size(1, 40) : random_size(1, 300);
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    const auto a = random_codes<Operand>(m * k, d, true), b = random_codes<Operand>(k * n, d, false);
    const auto dy = random_floats(m * n);
    std::vector<float> ref_da(m * k), ref_db(k * n);
    kernel::reference::backward_da(g.da, row_major(a.data(), m, k), row_major(b.data(), k, n),
                                   row_major(dy.data(), m, n), row_major(ref_da.data(), m, k));
    kernel::reference::backward_db(g.db, row_major(a.data(), m, k), row_major(b.data(), k, n),
                                   row_major(dy.data(), m, n), row_major(ref_db.data(), k, n));
    dev::buffer<code_t> d_a(a), d_b(b);
    dev::buffer<float> d_dy(dy), d_da(m * k), d_db(k * n), g_da(m * k), g_db(k * n);
    const auto av = device_view(d_a, m, k);
    const auto bv = device_view(d_b, k, n);
    const matrix_view<const float> dyv = device_view(d_dy, m, n);
    engine.backward_da(av, bv, dyv, device_view(d_da, m, k));
    engine.backward_db(av, bv, dyv, device_view(d_db, k, n));
    generic.backward_da(thrust::cuda::par, av, bv, dyv, device_view(g_da, m, k));
    generic.backward_db(thrust::cuda::par, av, bv, dyv, device_view(g_db, k, n));
    const auto got_da = d_da.download(), got_db = d_db.download();
    const auto gen_da = g_da.download(), gen_db = g_db.download();
    // Bound: sum_j |dY| (1/32 from round(16 g), when fixed point) + float accumulation error.
    const auto check = [&](const std::vector<float>& got, const std::vector<float>& gen,
                           const std::vector<float>& ref, std::size_t e, double abs_dy,
                           std::size_t terms) {
      const double float_error = 2.0 * terms * 6e-8 * abs_dy * max_g + 1e-6;
      const double bound = (fixed_point ? abs_dy / 32 : 0.0) + float_error;
      CHECK(std::abs(double(got[e]) - ref[e]) <= bound);
      CHECK(std::abs(double(gen[e]) - ref[e]) <= 1e-6 * std::abs(ref[e]) + 1e-6);
    };
    for (std::size_t i = 0; i < m; ++i) {
      double abs_dy = 0;
      for (std::size_t j = 0; j < n; ++j) abs_dy += std::abs(double(dy[i * n + j]));
      for (std::size_t p = 0; p < k; ++p) check(got_da, gen_da, ref_da, i * k + p, abs_dy, n);
    }
    for (std::size_t j = 0; j < n; ++j) {
      double abs_dy = 0;
      for (std::size_t i = 0; i < m; ++i) abs_dy += std::abs(double(dy[i * n + j]));
      for (std::size_t p = 0; p < k; ++p) check(got_db, gen_db, ref_db, p * n + j, abs_dy, m);
    }
  }
}

}  // namespace

TEST_CASE("device LUT-2D backward is within the fixed-point bound of the reference") {
  hana::for_each(hana::tuple_t<u6, u8, s7>, [](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    check_backward<Op>(lut2d{}, distribution::uniform, true);
    check_backward<Op>(lut2d{}, distribution::realistic, true);
  });
}

TEST_CASE("device STE and LUT-1D backward (map + cuBLAS sgemm) match the reference") {
  hana::for_each(hana::tuple_t<u6, u8, s7>, [](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    check_backward<Op>(ste{}, distribution::uniform, false);
    check_backward<Op>(lut1d{}, distribution::realistic, false);
  });
}

TEST_CASE("device boundary checks: shapes, int32 overflow, invalid codes") {
  const appmult<exact, u4, ste, device> engine;
  dev::buffer<code_t> a(6), b(6);
  dev::buffer<std::int32_t> y(4);
  CHECK_THROWS_WITH_AS(engine.forward(device_view(a, 2, 3), device_view(b, 2, 3), device_view(y, 2, 2)),
                       doctest::Contains("inner dimensions differ"), amgrad::error);
  a.upload({1, 2, 3, 4, 5, 16});  // 16 is not a 4-bit code
  CHECK_THROWS_WITH_AS(engine.check_codes("A", device_view(a, 2, 3)),
                       doctest::Contains("1 codes that are not 4-bit codes"), amgrad::error);
  b.upload({1, 2, 3, 4, 5, 6});
  CHECK_NOTHROW(engine.check_codes("B", device_view(b, 3, 2)));
  const appmult<exact, u8, ste, device> wide;
  matrix_view<const code_t> huge_a{a.data(), 1, 40000, 40000, 1};
  matrix_view<const code_t> huge_b{b.data(), 40000, 1, 1, 1};
  CHECK_THROWS_WITH_AS(wide.forward(huge_a, huge_b, device_view(y, 1, 1)),
                       doctest::Contains("overflow"), amgrad::error);
}

TEST_CASE("a failing CUDA call throws amgrad::error naming the call and the code") {
  void* p = nullptr;
  CHECK_THROWS_WITH_AS(AMGRAD_CUDA_CHECK(cudaMalloc(&p, std::size_t{1} << 62)),
                       doctest::Contains("cudaErrorMemoryAllocation"), amgrad::error);
}
