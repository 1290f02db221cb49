// The Torch layer's CUDA path (torch/device_gemm.cuh): the staged device AM-GEMMs that a CUDA
// tensor's layer runs, against the host reference (forward, bit for bit) and against the device
// engine on device buffers (backward: the same kernels, so the staging must not change a value),
// with row-major and strided host operands. No Torch here: the CUDA half never includes it.
#include <doctest/doctest.h>

#include <boost/hana.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "amgrad/appmult.hpp"
#include "amgrad/gradient/lut1d.hpp"
#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/gradient/ste.hpp"
#include "amgrad/kernel/device/buffer.cuh"
#include "amgrad/kernel/reference.hpp"
#include "amgrad/multiplier/truncated.hpp"
#include "amgrad/torch/device_gemm.cuh"

namespace hana = boost::hana;
using namespace amgrad;
namespace dev = amgrad::kernel::device;

// Referenced, so the registration is kept whatever the linker does with unused inline variables.
static const bool registered = amgrad::detail::device_gemm_registered;

namespace {

std::mt19937_64 rng{0xdec1ce};
std::size_t random_size(std::size_t lo, std::size_t hi) {
  return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
}
template <class Operand>
std::vector<code_t> random_codes(std::size_t n) {
  std::uniform_int_distribution<int> dist(0, Operand::size - 1);
  std::vector<code_t> out(n);
  for (auto& c : out) c = static_cast<code_t>(dist(rng));
  return out;
}
std::vector<float> random_floats(std::size_t n) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> out(n);
  for (auto& x : out) x = dist(rng);
  return out;
}

template <class Operand, class Scheme>
void check_staged(const Scheme& scheme) {
  const truncated model{4};
  const auto lut = make_product_table<Operand>(model);
  const appmult<truncated, Operand, Scheme, device> engine(model, scheme);
  const nn::device_gemms cache;
  const auto& gemm = cache.on(0, lut, [&] { return nn::kernel_gradients(detail::kernel_gradients(scheme, lut)); });
  CHECK(&gemm == &cache.on(0, lut, [&]() -> nn::kernel_gradients { FAIL("tables built twice"); return {}; }));
  for (int trial = 0; trial < 3; ++trial) {
    const auto m = random_size(1, 200), n = random_size(1, 200), k = random_size(1, 300);
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    const auto a = random_codes<Operand>(m * k), b = random_codes<Operand>(k * n);
    std::vector<code_t> bt(n * k);
    for (std::size_t p = 0; p < k; ++p)
      for (std::size_t j = 0; j < n; ++j) bt[j * k + p] = b[p * n + j];
    const auto dy = random_floats(m * n);
    const auto av = row_major(a.data(), m, k);
    // B as given, and B seen through its transpose (a strided host view the staging packs).
    const std::vector<matrix_view<const code_t>> b_views{row_major(b.data(), k, n),
                                                         row_major(bt.data(), n, k).transposed()};

    std::vector<std::int32_t> expected(m * n);
    kernel::reference::forward(lut, av, b_views[0], row_major(expected.data(), m, n));
    dev::buffer<code_t> d_a(a), d_b(b);
    dev::buffer<float> d_dy(dy), d_da(m * k), d_db(k * n);
    engine.backward_da(row_major(d_a.data(), m, k), row_major(d_b.data(), k, n),
                       row_major<const float>(d_dy.data(), m, n), row_major(d_da.data(), m, k));
    engine.backward_db(row_major(d_a.data(), m, k), row_major(d_b.data(), k, n),
                       row_major<const float>(d_dy.data(), m, n), row_major(d_db.data(), k, n));
    AMGRAD_CUDA_CHECK(cudaDeviceSynchronize());
    const auto want_da = d_da.download(), want_db = d_db.download();

    for (const auto& bv : b_views) {
      std::vector<std::int32_t> y(m * n, -1);
      gemm.forward(av, bv, row_major(y.data(), m, n), 0);
      REQUIRE(y == expected);
      std::vector<float> da(m * k, NAN), db(k * n, NAN);
      gemm.backward_da(av, bv, row_major(dy.data(), m, n), row_major(da.data(), m, k), 0);
      gemm.backward_db(av, bv, row_major(dy.data(), m, n), row_major(db.data(), k, n), 0);
      for (std::size_t e = 0; e < da.size(); ++e)
        CHECK(std::abs(da[e] - want_da[e]) <= 1e-5f * (std::abs(want_da[e]) + 1));
      for (std::size_t e = 0; e < db.size(); ++e)
        CHECK(std::abs(db[e] - want_db[e]) <= 1e-5f * (std::abs(want_db[e]) + 1));
    }
  }
}

}  // namespace

TEST_CASE("the CUDA path registers itself when device_gemm.cuh is compiled in") {
  CHECK(registered);
  CHECK(nn::has_device_path());
}

TEST_CASE("staged device AM-GEMMs equal the reference forward and the device engine's backward") {
  hana::for_each(hana::tuple_t<u6, u8, s8>, [](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    check_staged<Op>(ste{});
    check_staged<Op>(lut1d{});
    check_staged<Op>(lut2d{4});
  });
}

TEST_CASE("a staged device AM-GEMM rejects shapes that do not fit, before touching the device") {
  const auto lut = make_product_table<u8>(truncated{4});
  const nn::device_gemms cache;
  const auto& gemm = cache.on(0, lut, [&] { return nn::kernel_gradients(ste{}.factors(lut)); });
  std::vector<code_t> a(6), b(12);
  std::vector<std::int32_t> y(6);
  CHECK_THROWS_WITH_AS(gemm.forward(row_major<const code_t>(a.data(), 2, 3),
                                    row_major<const code_t>(b.data(), 4, 3),
                                    row_major(y.data(), 2, 3), 0),
                       doctest::Contains("inner dimensions differ"), amgrad::error);
}
