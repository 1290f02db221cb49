// amgrad::propose_hws: the LUT-2D half window from the table alone (docs/hws-and-lowrank.md).
#include "support.hpp"

#include <cmath>
#include <string>

#include "amgrad/gradient/hws.hpp"
#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/multiplier/product_table.hpp"
#include "amgrad/table/io.hpp"

using namespace amgrad;

namespace {

// Whether `got` is within one step of the ladder {1, 2, 4, ...} of `want`.
bool within_one_step(int got, int want) { return got == want || got == 2 * want || 2 * got == want; }

// rho(h) for dAM/da written independently: from the library's float32 LUT-2D table, interior.
double roughness_a_from_lut2d(const product_table& lut, int h) {
  const auto g = lut2d{h}.tables(lut).da;
  const int n = lut.side();
  double rough = 0, energy = 0;
  for (int b = 0; b < n; ++b)
    for (int a = h + 1; a < n - 1 - h; ++a) {
      energy += static_cast<double>(g(a, b)) * g(a, b);
      if (a > h + 1) rough += std::pow(static_cast<double>(g(a, b)) - g(a - 1, b), 2);
    }
  return std::sqrt(rough / energy);
}

hws_options bound(double max_roughness) {
  hws_options o;
  o.max_roughness = max_roughness;
  return o;
}

}  // namespace

TEST_CASE("propose_hws: the exact multiplier is smooth at every window and gets 1") {
  const auto p = propose_hws(make_product_table<u8>(exact{}));
  CHECK(p.hws == 1);
  CHECK(p.hws_a == 1);
  CHECK(p.hws_b == 1);
  REQUIRE(p.ladder.size() == 7);  // 1 .. 64 fit 256 codes
  for (const auto& c : p.ladder) CHECK(c.roughness == doctest::Approx(0.0));
}

TEST_CASE("propose_hws: the roughness is that of the library's LUT-2D table") {
  const auto lut = make_product_table<u7>(truncated{6});
  const auto p = propose_hws(lut);
  for (const auto& c : p.ladder) {
    CAPTURE(c.hws);
    CHECK(c.roughness_a == doctest::Approx(roughness_a_from_lut2d(lut, c.hws)).epsilon(1e-4));
  }
}

TEST_CASE("propose_hws: roughness falls with the window and the pick is the first under the bound") {
  const auto p = propose_hws(make_product_table<u8>(truncated{8}));
  for (std::size_t i = 1; i < p.ladder.size(); ++i) CHECK(p.ladder[i].roughness < p.ladder[i - 1].roughness);
  int first = 0;
  for (const auto& c : p.ladder)
    if (first == 0 && c.roughness <= hws_options{}.max_roughness) first = c.hws;
  CHECK(p.hws == first);
  // A looser bound never asks for a wider window; an unreachable one gives the widest.
  CHECK(propose_hws(make_product_table<u8>(truncated{8}), bound(1.0)).hws == 1);
  CHECK(propose_hws(make_product_table<u8>(truncated{8}), bound(1e-9)).hws == 64);
}

TEST_CASE("propose_hws: within one ladder step of the published choices for built-in truncations") {
  // DATE'25's choices: 6-bit 4-column truncation 2, 7-bit 6-column 2, 8-bit 8-column 16.
  CHECK(within_one_step(propose_hws(make_product_table<u6>(truncated{4})).hws, 2));
  CHECK(within_one_step(propose_hws(make_product_table<u7>(truncated{6})).hws, 2));
  CHECK(within_one_step(propose_hws(make_product_table<u8>(truncated{8})).hws, 16));
}

TEST_CASE("propose_hws: a non-commutative table gets per-operand windows") {
  // Truncate only along a: AM(a, b) = (a with its low 4 bits cleared) * b is a staircase in a
  // and exactly linear in b.
  product_table lut({8, false});
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; ++b) lut(a, b) = (a & ~15) * b;
  const auto p = propose_hws(lut);
  CHECK(p.hws_b == 1);
  CHECK(p.hws_a > 4);
  for (const auto& c : p.ladder) CHECK(c.roughness_b == doctest::Approx(0.0));
}

TEST_CASE("propose_hws: operand weights select where the roughness counts") {
  // Rough only for b < 128 (there a is truncated), exact above.
  product_table lut({8, false});
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; ++b) lut(a, b) = (b < 128 ? (a & ~15) : a) * b;
  hws_options upper;
  upper.weight_b.assign(256, 0.0);
  for (int b = 128; b < 256; ++b) upper.weight_b[static_cast<std::size_t>(b)] = 1.0;
  CHECK(propose_hws(lut, upper).hws_a == 1);
  CHECK(propose_hws(lut).hws_a > 1);
}

TEST_CASE("propose_hws: bad options throw amgrad::error naming the function") {
  const auto lut = make_product_table<u6>(exact{});
  CHECK_THROWS_WITH_AS(propose_hws(lut, bound(0)),
                       doctest::Contains("amgrad::propose_hws"), amgrad::error);
  CHECK_THROWS_WITH_AS(propose_hws(lut, [] { hws_options o; o.max_hws = 0; return o; }()), doctest::Contains("max_hws"), amgrad::error);
  hws_options short_weights;
  short_weights.weight_a.assign(10, 1.0);
  CHECK_THROWS_WITH_AS(propose_hws(lut, short_weights), doctest::Contains("weight_a"), amgrad::error);
  hws_options zero_weights;
  zero_weights.weight_b.assign(64, 0.0);
  CHECK_THROWS_WITH_AS(propose_hws(lut, zero_weights), doctest::Contains("weight_b"), amgrad::error);
  CHECK_THROWS_AS(propose_hws(make_product_table<unsigned_operand<2>>(exact{})), amgrad::error);
}

#ifdef AMGRAD_TEST_HWS_REFERENCE
TEST_CASE("propose_hws: within one ladder step of the published choices for the reference tables") {
  const struct {
    const char* name;
    int hws;
  } files[] = {{"mul8u_17C8_lutfp+bp_avg_16_16.txt.gz", 16},
               {"mul7u_08E_lutfp+bp_avg_4_4.txt.gz", 4},
               {"8_8_U_SP_WT_CL_GenMul_vertical_truncation_8cols_lutfp+bp_avg_16_16.txt.gz", 16}};
  for (const auto& f : files) {
    CAPTURE(f.name);
    const auto p = propose_hws(read_product_table(std::string(AMGRAD_REFERENCE_DIR) + "/" + f.name));
    CHECK(within_one_step(p.hws, f.hws));
  }
}
#endif
