// Wide operands (9..16 bits): the models' wide path equals the library's own where both exist
// (2..8 bits), keeps the published designs' defining properties at 12 and 16 bits, the forward
// kernel is bit-exact against the scalar reference on random shapes, and the LUT-1D scans equal
// amgrad::lut1d on the full table at 8 bits and the closed forms of the exact multiplier at 12.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "amgrad/amgrad.hpp"
#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/wide/forward.hpp"
#include "amgrad/wide/lut1d.hpp"
#include "amgrad/wide/lut2d.hpp"

using namespace amgrad;
namespace w = amgrad::wide;

namespace {

std::mt19937_64& rng() {
  static std::mt19937_64 engine{0x1de};
  return engine;
}

// One instance of every built-in model (a parameter in the middle of its range).
const auto models = std::make_tuple(exact{}, truncated{7}, bam{2, 6}, drum{4}, mitchell{},
                                    kulkarni{}, etm{3}, perforated{1, 2});

template <class Operand, class F>
void for_each_model(F&& f) {
  std::apply([&](const auto&... m) {
    (([&] {
       using Model = std::decay_t<decltype(m)>;
       if constexpr (!Operand::is_signed || Model::supports_signed) f(m);
     }()),
     ...);
  }, models);
}

template <class Narrow>
void check_same_as_narrow() {
  for_each_model<Narrow>([](const auto& model) {
    CAPTURE(model.name);
    long bad = 0;
    for (int a = Narrow::min_value; a <= Narrow::max_value; ++a)
      for (int b = Narrow::min_value; b <= Narrow::max_value; ++b)
        bad += w::multiply_bits(model, Narrow::bits, Narrow::is_signed, a, b) != model(Narrow{}, a, b);
    CHECK(bad == 0);
  });
}

// Uniform codes; with `extremes` > 0, that share of them drawn from the edges instead: 0 (the
// most negative value, or 0 unsigned), 1, the codes around value 0 of a signed operand, max.
template <class Operand>
std::vector<w::code_t> random_codes(std::size_t n, double extremes = 0) {
  constexpr int size = Operand::size;
  static constexpr std::array<int, 6> edges{0, 1, size / 2 - 1, size / 2, size / 2 + 1, size - 1};
  std::uniform_int_distribution<int> d(0, size - 1);
  std::uniform_int_distribution<std::size_t> edge(0, edges.size() - 1);
  std::bernoulli_distribution at_edge(extremes);
  std::vector<w::code_t> out(n);
  for (auto& c : out) c = static_cast<w::code_t>(extremes > 0 && at_edge(rng()) ? edges[edge(rng())] : d(rng()));
  return out;
}

template <class Operand>
void check_forward() {
  for_each_model<Operand>([](const auto& model) {
    CAPTURE(model.name);
    for (int trial = 0; trial < 3; ++trial) {
      std::uniform_int_distribution<std::size_t> dim(1, 37);
      const std::size_t m = dim(rng()), k = dim(rng()), n = dim(rng());
      CAPTURE(m);
      CAPTURE(k);
      CAPTURE(n);
      const auto a = random_codes<Operand>(m * k), b = random_codes<Operand>(k * n);
      std::vector<std::int64_t> y(m * n, -1), ref(m * n, -2);
      w::forward<Operand>(model, a.data(), b.data(), y.data(), m, k, n, 2);
      w::forward_reference<Operand>(model, a.data(), b.data(), ref.data(), m, k, n);
      CHECK(y == ref);
    }
  });
}

// The vectorised row kernels' models: truncation from no column to 16 (k >= B also drops whole
// rows of a 9- or 12-bit array), BAM with neither break line, each alone, both, and h >= v.
const auto row_kernel_models = std::make_tuple(
    truncated{0}, truncated{1}, truncated{5}, truncated{11}, truncated{12}, truncated{15},
    truncated{16}, bam{0, 0}, bam{0, 16}, bam{3, 0}, bam{2, 6}, bam{3, 12}, bam{8, 16}, bam{8, 3},
    bam{4, 15}, mitchell{});

template <class Model>
std::string label(const Model& model) {
  std::string s = model.name;
  if constexpr (std::is_same_v<Model, truncated>) s += " " + std::to_string(model.columns);
  if constexpr (std::is_same_v<Model, bam>) s += " " + std::to_string(model.hbl) + "," + std::to_string(model.vbl);
  return s;
}

template <class F>
void for_each_row_kernel_model(F&& f) {
  std::apply([&](const auto&... m) { (f(m), ...); }, row_kernel_models);
}

// Y = forward on A (m x k) and B (k x n) with edge codes mixed in, against forward_reference.
template <class Operand, class Model>
bool forward_matches(const Model& model, std::size_t m, std::size_t k, std::size_t n, unsigned threads) {
  const auto a = random_codes<Operand>(m * k, 0.3), b = random_codes<Operand>(k * n, 0.3);
  std::vector<std::int64_t> y(m * n, -1), ref(m * n, -2);
  w::forward<Operand>(model, a.data(), b.data(), y.data(), m, k, n, threads);
  w::forward_reference<Operand>(model, a.data(), b.data(), ref.data(), m, k, n);
  return y == ref;
}

template <class Operand>
void check_row_kernels() {
  for_each_row_kernel_model([](const auto& model) {
    const std::string name = label(model);
    CAPTURE(name);
    CAPTURE(Operand::bits);
    CAPTURE(Operand::is_signed);
    long bad = 0;
    std::uniform_int_distribution<std::size_t> dim(1, 41);
    for (int trial = 0; trial < 6; ++trial)
      bad += !forward_matches<Operand>(model, dim(rng()), dim(rng()), dim(rng()), 1 + trial % 2);
    // ragged: single rows, columns and depths, odd sizes, and N past one column block (1024)
    const std::tuple<std::size_t, std::size_t, std::size_t> ragged[] = {
        {1, 1, 1}, {1, 1, 33}, {3, 1, 1}, {1, 17, 1}, {5, 3, 7}, {2, 2, 1031}};
    for (const auto& [m, k, n] : ragged) bad += !forward_matches<Operand>(model, m, k, n, 2);
    CHECK(bad == 0);
  });
}

// Y = A (1 x 1) B (1 x N) is one AM per column: the kernels against the model's own
// unsigned_product (its definition loop, not the fast core the reference uses), sign-magnitude
// for signed operands; every pair at 9 bits, random pairs with edge codes mixed in at 12 and 16.
template <class Operand>
void check_row_kernels_per_pair(bool every_pair) {
  for_each_row_kernel_model([&](const auto& model) {
    const std::string name = label(model);
    CAPTURE(name);
    CAPTURE(Operand::bits);
    CAPTURE(Operand::is_signed);
    const auto product = [&](int x, int z) {
      const auto mag = static_cast<std::int64_t>(model.unsigned_product(
          Operand::bits, static_cast<std::uint32_t>(std::abs(x)), static_cast<std::uint32_t>(std::abs(z))));
      return (x < 0) != (z < 0) ? -mag : mag;
    };
    std::vector<w::code_t> b(every_pair ? Operand::size : 512);
    std::vector<std::int64_t> y(b.size());
    long bad = 0;
    for (int t = 0; t < (every_pair ? Operand::size : 200); ++t) {
      const auto a = every_pair ? static_cast<w::code_t>(t) : random_codes<Operand>(1, 0.2)[0];
      if (every_pair)
        for (std::size_t j = 0; j < b.size(); ++j) b[j] = static_cast<w::code_t>(j);
      else
        b = random_codes<Operand>(b.size(), 0.1);
      w::forward<Operand>(model, &a, b.data(), y.data(), 1, 1, b.size(), 1);
      for (std::size_t j = 0; j < b.size(); ++j)
        bad += y[j] != product(Operand::value(a), Operand::value(b[j]));
    }
    CHECK(bad == 0);
  });
}

}  // namespace

TEST_CASE("the wide path of every model equals the model itself at 2..8 bits") {
  check_same_as_narrow<u8>();
  check_same_as_narrow<s8>();
  check_same_as_narrow<unsigned_operand<5>>();
  check_same_as_narrow<signed_operand<3>>();
}

TEST_CASE("the fast wide cores equal the models' own cores at 12 and 16 bits") {
  for (int bits : {12, 16}) {
    CAPTURE(bits);
    std::uniform_int_distribution<std::uint32_t> d(0, (1u << bits) - 1);
    long bad = 0;
    for (int t = 0; t < 300000; ++t) {
      std::uint32_t a = d(rng()), b = d(rng());
      if (t % 7 == 0) a >>= d(rng()) % static_cast<std::uint32_t>(bits);  // short operands too
      for (int k : {2, 4, 6, 11})
        bad += w::fast_unsigned_product(drum{k}, bits, a, b) != drum{k}.unsigned_product(bits, a, b);
      bad += w::fast_unsigned_product(mitchell{}, bits, a, b) != mitchell{}.unsigned_product(bits, a, b);
      for (int k : {0, 1, 5, 12, 16})
        bad += w::fast_unsigned_product(truncated{k}, bits, a, b) != truncated{k}.unsigned_product(bits, a, b);
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("12- and 16-bit models keep their designs' defining properties") {
  const auto check = [](auto op) {
    using O = decltype(op);
    CAPTURE(O::bits);
    std::uniform_int_distribution<int> d(O::min_value, O::max_value);
    long violations = 0;
    for (int t = 0; t < 200000; ++t) {
      const int a = d(rng()), b = d(rng());
      const std::int64_t p = std::int64_t{a} * b;
      const std::int64_t pa = std::abs(p);
      violations += w::multiply<O>(exact{}, a, b) != p;
      violations += w::multiply<O>(truncated{0}, a, b) != p;
      violations += w::multiply<O>(bam{0, 0}, a, b) != p;
      violations += w::multiply<O>(drum{16}, a, b) != p;  // k >= B: nothing dropped
      // truncation drops at most the columns c < k: sum (c + 1) 2^c
      const std::int64_t t9 = std::abs(w::multiply<O>(truncated{9}, a, b));
      violations += !(t9 <= pa && pa - t9 <= 8 * 512 + 1);
      // Mitchell: never above a*b, at most 1/9 below, exact on a power of two
      const std::int64_t mi = std::abs(w::multiply<O>(mitchell{}, a, b));
      violations += !(mi <= pa && 9 * (pa - mi) <= pa);
      const int pow2 = 1 << (std::abs(b) % (O::bits - 1));
      violations += w::multiply<O>(mitchell{}, a, pow2) != std::int64_t{a} * pow2;
      // Kulkarni: 3x3 -> 7 per block, so never above a*b, and at most 2/9 of it below
      const std::int64_t ku = std::abs(w::multiply<O>(kulkarni{}, a, b));
      violations += !(ku <= pa && 9 * (pa - ku) <= 2 * pa);
      // DRUM with k bits: relative error below 2^(1-k) per operand
      const double dr = static_cast<double>(std::abs(w::multiply<O>(drum{6}, a, b)));
      violations += pa > 0 && std::abs(dr - static_cast<double>(pa)) > static_cast<double>(pa) * (2.0 / 32 + 1.0 / 1024);
      if constexpr (!O::is_signed) {
        violations += w::multiply<O>(etm{0}, a, b) != p;
        violations += w::multiply<O>(perforated{0, 0}, a, b) != p;
        violations += w::multiply<O>(perforated{2, 3}, a, b) != std::int64_t{a} * (b & ~(7 << 2));
      }
    }
    CHECK(violations == 0);
  };
  check(w::u12{});
  check(w::s12{});
  check(w::u16{});
  check(w::s16{});
  // The 16-bit unsigned product overflows int32: the wide path must not.
  CHECK(w::multiply<w::u16>(exact{}, 65535, 65535) == 65535LL * 65535LL);
  CHECK(w::multiply<w::u16>(drum{16}, 65535, 65535) == 65535LL * 65535LL);
}

TEST_CASE("wide forward: bit-exact against the scalar reference on random shapes") {
  check_forward<w::u12>();
  check_forward<w::s12>();
  check_forward<w::u16>();
  check_forward<w::s16>();
  check_forward<w::operand<9>>();
  std::vector<w::code_t> a(4, 5), b(4, 5);
  std::vector<std::int64_t> y(4);
  b[3] = 4096;
  try {
    w::forward<w::u12>(exact{}, a.data(), b.data(), y.data(), 2, 2, 2);
    FAIL("no error");
  } catch (const amgrad::error& e) {
    CHECK(std::string(e.what()).find("B(1, 1) = 4096 is not a 12-bit code") != std::string::npos);
  }
}

TEST_CASE("wide forward: the vectorised row kernels (truncation, BAM, Mitchell) are bit-exact") {
  check_row_kernels<w::u12>();
  check_row_kernels<w::s12>();
  check_row_kernels<w::u16>();
  check_row_kernels<w::s16>();
  check_row_kernels<w::operand<9>>();
}

TEST_CASE("wide forward: the row kernels equal the models' own definitions pair by pair") {
  check_row_kernels_per_pair<w::operand<9>>(true);
  check_row_kernels_per_pair<w::signed_operand<9>>(true);
  check_row_kernels_per_pair<w::u12>(false);
  check_row_kernels_per_pair<w::s12>(false);
  check_row_kernels_per_pair<w::u16>(false);
  check_row_kernels_per_pair<w::s16>(false);
}

TEST_CASE("wide LUT-1D scans equal amgrad::lut1d at 8 bits and the exact closed forms at 12") {
  for (auto rule : {rate_rule::signed_range, rate_rule::secant, rate_rule::least_squares}) {
    CAPTURE(static_cast<int>(rule));
    const auto compare = [&](auto op) {
      using O = decltype(op);
      for_each_model<O>([&](const auto& model) {
        CAPTURE(model.name);
        const auto ref = lut1d{rule}.factors(make_product_table<O>(model));
        const auto got = w::lut1d_scan_bits(model, O::bits, O::is_signed, rule, 2);
        double worst = 0;
        for (std::size_t i = 0; i < ref.da_of_b.size(); ++i) {
          worst = std::max(worst, std::abs(double(got.da_of_b[i]) - ref.da_of_b[i]) / (1 + std::abs(ref.da_of_b[i])));
          worst = std::max(worst, std::abs(double(got.db_of_a[i]) - ref.db_of_a[i]) / (1 + std::abs(ref.db_of_a[i])));
        }
        CHECK(worst < 1e-6);
      });
    };
    compare(u8{});
    compare(s8{});
  }
  const auto start = std::chrono::steady_clock::now();
  const auto g = w::lut1d_scan<w::u12>(exact{}, rate_rule::signed_range);
  MESSAGE("LUT-1D scan, exact u12: "
          << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s");
  const auto s = w::lut1d_scan<w::s12>(exact{}, rate_rule::secant);
  long bad = 0;
  for (int c = 0; c < 4096; ++c) {
    bad += g.da_of_b[static_cast<std::size_t>(c)] != static_cast<float>(c * 4095.0 / 4096);
    bad += g.db_of_a[static_cast<std::size_t>(c)] != static_cast<float>(c * 4095.0 / 4096);
    bad += s.da_of_b[static_cast<std::size_t>(c)] != static_cast<float>(c - 2048);
  }
  CHECK(bad == 0);
  CHECK_THROWS_AS(w::lut1d_scan<w::u12>(exact{}, rate_rule::lut2d_mean), amgrad::error);
}

TEST_CASE("wide LUT-2D: the full-resolution reference equals amgrad::lut2d at 8 bits") {
  const auto compare = [](auto op, const auto& model, int hws) {
    using O = decltype(op);
    CAPTURE(model.name);
    const auto ref = lut2d{hws}.tables(make_product_table<O>(model));
    const auto full = w::lut2d_exact_bits(model, O::bits, O::is_signed, hws, 2);
    const auto coarse = w::lut2d_coarse_bits(model, O::bits, O::is_signed, hws, 256, 2);  // stride 1
    double worst = 0, worst_coarse = 0;
    for (int a = 0; a < O::size; ++a)
      for (int b = 0; b < O::size; ++b) {
        const auto k = static_cast<std::size_t>(a * O::size + b);
        const double scale = 1 + std::abs(ref.da(a, b)) + std::abs(ref.db(a, b));
        worst = std::max({worst, std::abs(full.da[k] - ref.da(a, b)) / scale, std::abs(full.db[k] - ref.db(a, b)) / scale});
        worst_coarse = std::max({worst_coarse, std::abs(coarse.da_at(a, b) - ref.da(a, b)) / scale,
                                 std::abs(coarse.db_at(a, b) - ref.db(a, b)) / scale});
      }
    CHECK(worst < 1e-4);
    CHECK(worst_coarse < 1e-4);
  };
  compare(u8{}, mitchell{}, 32);
  compare(u8{}, drum{3}, 5);
  compare(s8{}, truncated{6}, 32);
  compare(unsigned_operand<6>{}, etm{2}, 3);
}

TEST_CASE("wide LUT-2D: the coarse 256x256 estimate against the exact 12-bit LUT-2D") {
  const auto error_of = [](const auto& model, bool is_signed) {
    const auto full = w::lut2d_exact_bits(model, 12, is_signed, auto_hws, 0);
    const auto start = std::chrono::steady_clock::now();
    const auto coarse = w::lut2d_coarse_bits(model, 12, is_signed, auto_hws, 256, 0);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double err2 = 0, ref2 = 0, worst = 0;
    for (int a = 0; a < 4096; ++a)
      for (int b = 0; b < 4096; ++b) {
        const auto k = static_cast<std::size_t>(a) * 4096 + static_cast<std::size_t>(b);
        const double ea = coarse.da_at(a, b) - full.da[k], eb = coarse.db_at(a, b) - full.db[k];
        err2 += ea * ea + eb * eb;
        ref2 += double(full.da[k]) * full.da[k] + double(full.db[k]) * full.db[k];
        worst = std::max({worst, std::abs(ea), std::abs(eb)});
      }
    const double rel = std::sqrt(err2 / ref2);
    MESSAGE(std::string(model.name) << (is_signed ? " s12" : " u12") << ": coarse LUT-2D relative RMS error "
                       << rel << ", max |error| " << worst << " (gradients up to "
                       << (is_signed ? 2048 : 4096) << "), coarse estimate " << seconds << " s");
    return rel;
  };
  CHECK(error_of(exact{}, false) < 0.02);  // linear inside: only the boundary band differs
  CHECK(error_of(mitchell{}, false) < 0.05);
  CHECK(error_of(drum{4}, false) < 0.05);
  CHECK(error_of(truncated{12}, true) < 0.05);
}
