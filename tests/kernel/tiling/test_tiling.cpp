// The device kernels' tile logic and per-thread programs, checked on the host: index coverage,
// split-K ranges, shared-memory sizes, table storage, and whole thread blocks emulated against
// the reference kernels (bit-exact forward, fixed-point bound backward).
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "emulate.hpp"
#include "support.hpp"

using namespace amgrad;
namespace dd = amgrad::kernel::device::tiling;

namespace {

// Tiles the tests run: the production ones and a small one that makes ragged edges frequent.
using small_tile = dd::tile_shape<64, 4, 4, 8>;
constexpr auto tiles = hana::tuple_t<dd::forward_tile, dd::backward_tile, small_tile>;

const auto models = hana::make_tuple(exact{}, truncated{5});

template <class Operand>
std::vector<code_t> codes(std::size_t n) {
  return test::random_codes<Operand>(n);
}

}  // namespace

TEST_CASE("every element of a block tile belongs to exactly one thread and register") {
  hana::for_each(tiles, [](auto t) {
    using Tile = typename decltype(t)::type;
    std::vector<int> owners(Tile::bm * Tile::bn, 0);
    for (int tid = 0; tid < Tile::threads; ++tid) {
      const auto at = dd::origin_of<Tile>(tid);
      for (int r = 0; r < Tile::tm; ++r)
        for (int c = 0; c < Tile::tn; ++c) {
          REQUIRE(at.row + r < Tile::bm);
          REQUIRE(at.col + c < Tile::bn);
          ++owners[static_cast<std::size_t>((at.row + r) * Tile::bn + at.col + c)];
        }
    }
    CHECK(std::all_of(owners.begin(), owners.end(), [](int n) { return n == 1; }));
    // All lanes of a warp share their rows: one table row per warp and lookup.
    for (int tid = 0; tid < Tile::threads; ++tid)
      CHECK(dd::origin_of<Tile>(tid).row == dd::origin_of<Tile>(tid / 32 * 32).row);
  });
}

TEST_CASE("split-K ranges partition K on tile boundaries, and no split is empty") {
  for (int trial = 0; trial < 2000; ++trial) {
    const auto k = static_cast<std::int64_t>(test::random_size(1, 20000));
    const int granule = 1 << test::random_size(0, 6);
    const auto m = static_cast<std::int64_t>(test::random_size(1, 3000));
    const auto n = static_cast<std::int64_t>(test::random_size(1, 3000));
    const int splits = dd::choose_splits(m, n, k, 128, 128, granule, 264, 128);
    CAPTURE(k);
    CAPTURE(splits);
    REQUIRE(splits >= 1);
    std::int64_t next = 0;
    for (int z = 0; z < splits; ++z) {
      const auto range = dd::split_range(k, splits, z, granule);
      CHECK(range.begin == next);
      CHECK(range.end > range.begin);
      CHECK(range.begin % granule == 0);
      next = range.end;
    }
    CHECK(next == k);
  }
  // A big output needs no split; a small one is split to fill the GPU, as far as K allows.
  CHECK(dd::choose_splits(4096, 4096, 4096, 128, 128, 32, 132, 128) == 1);
  CHECK(dd::choose_splits(128, 128, 8192, 128, 128, 32, 132, 128) == 64);
  CHECK(dd::choose_splits(128, 128, 100, 128, 128, 32, 132, 128) == 1);
}

TEST_CASE("the shared-memory layout fits an SM and keeps vector loads aligned") {
  constexpr auto u8_forward = dd::make_smem_layout<dd::forward_tile, code_t>(8, 2);
  static_assert(u8_forward.table_bytes == 128 * 1024, "the whole 8-bit 16-bit table");
  static_assert(u8_forward.total <= 227 * 1024, "an H100 block may opt in to 227 KiB");
  constexpr auto u8_backward = dd::make_smem_layout<dd::backward_tile, float>(8, 2);
  static_assert(u8_backward.total <= 227 * 1024);
  constexpr auto fallback = dd::make_smem_layout<dd::forward_tile, code_t>(8, 0);
  static_assert(fallback.table_bytes == 0 && fallback.total <= 48 * 1024,
                "the 32-bit fallback needs no opt-in");
  for (int bits = 2; bits <= 8; ++bits)
    for (int entry : {0, 2}) {
      const auto s = dd::make_smem_layout<dd::forward_tile, code_t>(bits, entry);
      CHECK(s.row_tile_offset % 16 == 0);
      CHECK(s.col_tile_offset % 16 == 0);
      CHECK(s.total % 16 == 0);
      CHECK(s.table_bytes >= dd::table_entries(bits) * static_cast<std::size_t>(entry));
    }
  CHECK(dd::make_smem_layout<dd::forward_tile, code_t>(7, 2).table_bytes == 32 * 1024);
  static_assert(dd::row_tile_stride<code_t>(dd::forward_tile::bm) % 8 == 0);
  static_assert(dd::row_tile_stride<float>(dd::backward_tile::bm) % 4 == 0);
}

TEST_CASE("table storage is 16-bit only where every value fits") {
  using amgrad::kernel::device::table_storage;
  CHECK(amgrad::kernel::device::choose_storage(0, 65025) == table_storage::shared_uint16);        // u8 exact
  CHECK(amgrad::kernel::device::choose_storage(-16256, 16384) == table_storage::shared_int16);    // s8 exact
  CHECK(amgrad::kernel::device::choose_storage(-32768, 32767) == table_storage::shared_int16);
  CHECK(amgrad::kernel::device::choose_storage(-1, 32768) == table_storage::global_int32);
  CHECK(amgrad::kernel::device::choose_storage(0, 65536) == table_storage::global_int32);
  CHECK(amgrad::kernel::device::choose_storage(-32769, 0) == table_storage::global_int32);
}

namespace {

template <class Entry>
std::vector<Entry> narrow(const product_table& lut) {
  std::vector<Entry> out(lut.size());
  for (std::size_t e = 0; e < lut.size(); ++e) {
    REQUIRE(lut.data()[e] >= std::numeric_limits<Entry>::min());
    REQUIRE(lut.data()[e] <= std::numeric_limits<Entry>::max());
    out[e] = static_cast<Entry>(lut.data()[e]);
  }
  return out;
}

template <class Tile, class Operand, class Model>
void check_forward_emulation(const Model& model) {
  const auto lut = make_product_table<Operand>(model);
  const auto [lo, hi] = std::minmax_element(lut.values().begin(), lut.values().end());
  const auto storage = amgrad::kernel::device::choose_storage(*lo, *hi);
  REQUIRE(storage != amgrad::kernel::device::table_storage::global_int32);
  for (int trial = 0; trial < 3; ++trial) {
    const auto m = test::random_size(1, 2 * Tile::bm + 3), n = test::random_size(1, 2 * Tile::bn + 3),
               k = test::random_size(1, 3 * Tile::bk + 5);
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    const auto a = codes<Operand>(m * k), b = codes<Operand>(k * n);
    std::vector<std::int32_t> expected(m * n);
    kernel::reference::forward(lut, row_major(a.data(), m, k), row_major(b.data(), k, n),
                               row_major(expected.data(), m, n));
    // B also handed over as a transposed view, which the kernels load along the other index.
    const auto bt = test::transposed_codes(b, k, n);
    const std::vector<matrix_view<const code_t>> b_views{
        row_major(b.data(), k, n), row_major(bt.data(), n, k).transposed()};
    const int chosen = dd::choose_splits(static_cast<std::int64_t>(m), static_cast<std::int64_t>(n),
                                         static_cast<std::int64_t>(k), Tile::bm, Tile::bn,
                                         Tile::bk, 8, Tile::bk);
    for (const int splits : {1, 2, chosen})
      for (const auto& bv : b_views) {
        CAPTURE(splits);
        std::vector<std::int32_t> y(m * n, -1);
        const auto yv = row_major(y.data(), m, n);
        if (storage == amgrad::kernel::device::table_storage::shared_int16) {
          const auto entries = narrow<std::int16_t>(lut);
          test::emulate_forward<Tile>(dd::direct_table<std::int16_t>{entries.data()},
                                      Operand::bits, row_major(a.data(), m, k), bv, yv, splits);
        } else {
          const auto entries = narrow<std::uint16_t>(lut);
          test::emulate_forward<Tile>(dd::direct_table<std::uint16_t>{entries.data()},
                                      Operand::bits, row_major(a.data(), m, k), bv, yv, splits);
        }
        REQUIRE(y == expected);
        std::fill(y.begin(), y.end(), -1);
        test::emulate_forward<Tile>(dd::global_table{lut.data()}, Operand::bits,
                                    row_major(a.data(), m, k), bv, yv, splits);
        REQUIRE(y == expected);
      }
  }
}

}  // namespace

TEST_CASE("emulated forward blocks equal the reference kernel bit for bit") {
  hana::for_each(hana::make_tuple(hana::type_c<small_tile>, hana::type_c<dd::forward_tile>),
                 [](auto t) {
    using Tile = typename decltype(t)::type;
    hana::for_each(models, [](const auto& model) {
      hana::for_each(hana::tuple_t<u4, u7, u8, s6, s8>, [&](auto o) {
        using Op = typename decltype(o)::type;
        CAPTURE(to_string(Op::format));
        CAPTURE(Tile::threads);
        check_forward_emulation<Tile, Op>(model);
      });
    });
  });
}

TEST_CASE("the 32-bit fallback covers tables that do not fit 16 bits") {
  // u8 scaled by 3: up to 195075, which no 16-bit type holds.
  const auto big = make_model<false>([](int a, int b) { return 3 * a * b + 1; });
  const auto lut = make_product_table<u8>(big);
  const auto [lo, hi] = std::minmax_element(lut.values().begin(), lut.values().end());
  REQUIRE(amgrad::kernel::device::choose_storage(*lo, *hi) == amgrad::kernel::device::table_storage::global_int32);
  const std::size_t m = 70, n = 150, k = 77;
  const auto a = codes<u8>(m * k), b = codes<u8>(k * n);
  std::vector<std::int32_t> expected(m * n), y(m * n);
  kernel::reference::forward(lut, row_major(a.data(), m, k), row_major(b.data(), k, n),
                             row_major(expected.data(), m, n));
  test::emulate_forward<small_tile>(dd::global_table{lut.data()}, 8, row_major(a.data(), m, k),
                                    row_major(b.data(), k, n), row_major(y.data(), m, n), 3);
  CHECK(y == expected);
}

namespace {

// |Σ w g - Σ w round(16 g)/16| <= Σ|w| / 32, plus float accumulation error.
template <class Tile, class Operand>
void check_backward_emulation(const product_table& lut, const gradient_tables& g) {
  const auto fixed_da = to_fixed_point(g.da), fixed_db = to_fixed_point(g.db);
  // The dB kernel reads the transposed table: T'[b][a] = round(16 dAM/db (a, b)).
  table<std::int16_t> fixed_db_t(lut.format());
  gradient_table dequantized_da(lut.format()), dequantized_db(lut.format());
  for (int x = 0; x < lut.side(); ++x)
    for (int y = 0; y < lut.side(); ++y) {
      fixed_db_t(y, x) = fixed_db(x, y);
      dequantized_da(x, y) = static_cast<float>(fixed_da(x, y)) / 16.0f;
      dequantized_db(x, y) = static_cast<float>(fixed_db(x, y)) / 16.0f;
    }
  for (int trial = 0; trial < 3; ++trial) {
    const auto m = test::random_size(1, 2 * Tile::bm + 3), n = test::random_size(1, 3 * Tile::bk + 5),
               k = test::random_size(1, 2 * Tile::bn + 3);
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    const auto a = codes<Operand>(m * k), b = codes<Operand>(k * n);
    const auto dy = test::random_floats(m * n);
    const auto av = row_major(a.data(), m, k);
    const auto bv = row_major(b.data(), k, n);
    const auto dyv = row_major(dy.data(), m, n);
    std::vector<float> da(m * k), db(k * n), ref_da(m * k), ref_db(k * n), q_da(m * k), q_db(k * n);
    kernel::reference::backward_da(g.da, av, bv, dyv, row_major(ref_da.data(), m, k));
    kernel::reference::backward_db(g.db, av, bv, dyv, row_major(ref_db.data(), k, n));
    kernel::reference::backward_da(dequantized_da, av, bv, dyv, row_major(q_da.data(), m, k));
    kernel::reference::backward_db(dequantized_db, av, bv, dyv, row_major(q_db.data(), k, n));

    const int splits = trial == 0 ? 1 : trial == 1 ? 2 : 3;  // the split reduction too
    CAPTURE(splits);
    test::emulate_backward<Tile>(dd::direct_table<std::int16_t>{fixed_da.data()}, Operand::bits,
                                 1.0f / 16, dyv, av, bv.transposed(), row_major(da.data(), m, k),
                                 splits);
    test::emulate_backward<Tile>(dd::direct_table<std::int16_t>{fixed_db_t.data()}, Operand::bits,
                                 1.0f / 16, dyv.transposed(), bv.transposed(), av,
                                 row_major(db.data(), k, n).transposed(), splits);
    double max_table = 0;
    for (std::size_t e = 0; e < fixed_da.size(); ++e)
      max_table = std::max({max_table, std::abs(double(fixed_da.data()[e])),
                            std::abs(double(fixed_db.data()[e]))});
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t p = 0; p < k; ++p) {
        double abs_dy = 0;
        for (std::size_t j = 0; j < n; ++j) abs_dy += std::abs(double(dy[i * n + j]));
        const double float_error = 1e-5 * abs_dy * max_table / 16 + 1e-6;
        CHECK(std::abs(da[i * k + p] - q_da[i * k + p]) <= float_error);
        CHECK(std::abs(da[i * k + p] - ref_da[i * k + p]) <= abs_dy / 32 + float_error);
      }
    for (std::size_t p = 0; p < k; ++p)
      for (std::size_t j = 0; j < n; ++j) {
        double abs_dy = 0;
        for (std::size_t i = 0; i < m; ++i) abs_dy += std::abs(double(dy[i * n + j]));
        const double float_error = 1e-5 * abs_dy * max_table / 16 + 1e-6;
        CHECK(std::abs(db[p * n + j] - q_db[p * n + j]) <= float_error);
        CHECK(std::abs(db[p * n + j] - ref_db[p * n + j]) <= abs_dy / 32 + float_error);
      }
  }
}

}  // namespace

TEST_CASE("emulated LUT-2D backward blocks match the reference within the fixed-point bound") {
  hana::for_each(hana::make_tuple(hana::type_c<small_tile>, hana::type_c<dd::backward_tile>),
                 [](auto t) {
    using Tile = typename decltype(t)::type;
    hana::for_each(hana::tuple_t<u6, u8, s7>, [](auto o) {
      using Op = typename decltype(o)::type;
      CAPTURE(to_string(Op::format));
      const auto lut = make_product_table<Op>(truncated{4});
      check_backward_emulation<Tile, Op>(lut, lut2d{}.tables(lut));
    });
  });
}
