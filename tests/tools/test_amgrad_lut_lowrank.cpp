// amgrad-lut grad --scheme lut2d_lowrank and amgrad-lut rank: the library's truncated SVD
// (amgrad::lut2d_lowrank, amgrad::low_rank_of) from the command line.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "amgrad/amgrad.hpp"
#include "amgrad/gradient/lut2d_lowrank.hpp"
#include "amgrad/table/io.hpp"
#include "run_tool.hpp"

using namespace amgrad;
using amgrad::test::contains;
using amgrad::test::last_line;
using amgrad::test::run_lut_tool;
using amgrad::test::temp_dir;

namespace {


// A table whose LUT-2D gradients are far from rank 1, so that the rank choices below differ.
product_table table_under_test() { return make_product_table<u7>(truncated{6}); }

}  // namespace

#if AMGRAD_HAS_LAPACKE

TEST_CASE("amgrad-lut grad --scheme lut2d_lowrank writes the library's rank-R tables") {
  temp_dir dir;
  const auto lut = table_under_test();
  const auto in = dir.file("t6u7.date");
  write_product_table(in, lut, table_format::date);

  SUBCASE("a fixed rank") {
    const auto r = run_lut_tool(dir, "grad '" + in + "' --scheme lut2d_lowrank --hws 2 --rank 2 -o '" +
                                         dir.file("g.txt") + "'");
    REQUIRE(r.exit_code == 0);
    const auto expected = lut2d_lowrank<2>{2}.tables(lut);
    const auto g = read_date(dir.file("g.txt"));
    REQUIRE(g.grad_a_x16.has_value());
    CHECK(*g.grad_a_x16 == to_fixed_point(expected.da, 16));
    CHECK(*g.grad_b_x16 == to_fixed_point(expected.db, 16));
    CHECK(contains(g.info.at(1), "scheme=lut2d_lowrank, half_ws=2, boundary=eq6, rank_a=2"));
    CHECK(contains(r.out, "rank_a=2"));
  }
  SUBCASE("a rank from the tolerance, per gradient, with the published boundary rule") {
    const double tolerance = 0.02;
    lut2d_lowrank<> scheme;
    scheme.hws = 4;
    scheme.boundary = boundary_rule::published;
    scheme.tolerance = tolerance;
    const auto factors = scheme.low_rank(lut);
    REQUIRE(factors.da.rank > 1);
    const auto r = run_lut_tool(dir, "grad '" + in + "' --scheme lut2d_lowrank --hws 4 --compat --rank-tol 0.02 -o '" +
                                         dir.file("g.txt") + "'");
    REQUIRE(r.exit_code == 0);
    const auto g = read_date(dir.file("g.txt"));
    const auto expected = factors.expand();
    CHECK(*g.grad_a_x16 == to_fixed_point(expected.da, 16));
    CHECK(*g.grad_b_x16 == to_fixed_point(expected.db, 16));
    CHECK(contains(g.info.at(1), "boundary=published, rank_a=" + std::to_string(factors.da.rank)));
  }
}

TEST_CASE("amgrad-lut rank: the error per rank and the rank within the tolerance, last") {
  temp_dir dir;
  const auto lut = table_under_test();
  const auto in = dir.file("t6u7.date");
  write_product_table(in, lut, table_format::date);
  for (double tolerance : {0.01, 0.1}) {
    CAPTURE(tolerance);
    const auto g = low_rank_of(lut2d{2}.tables(lut), dynamic_rank, tolerance);
    const auto r = run_lut_tool(dir, "rank '" + in + "' --hws 2 --rank-tol " + std::to_string(tolerance));
    REQUIRE(r.exit_code == 0);
    CHECK(last_line(r.out) == std::to_string(std::max(g.da.rank, g.db.rank)));
    CHECK(contains(r.out, "rank  dAM/da"));
  }
  const auto g = low_rank_of(lut2d{2}.tables(lut), dynamic_rank, 0.01);
  const auto json = run_lut_tool(dir, "rank '" + in + "' --hws 2 --max-rank 3 --json");
  REQUIRE(json.exit_code == 0);
  CHECK(contains(json.out, "\"hws\": 2, \"tolerance\": 0.01"));
  CHECK(contains(json.out, "{\"rank\": 3,"));
  CHECK_FALSE(contains(json.out, "{\"rank\": 4,"));
  CHECK(contains(json.out, "\"rank_a\": " + std::to_string(g.da.rank) + ", \"rank_b\": " +
                               std::to_string(g.db.rank)));
}

#else

TEST_CASE("amgrad-lut lut2d_lowrank without LAPACKE: a clear error") {
  temp_dir dir;
  const auto in = dir.file("t6u7.date");
  write_product_table(in, table_under_test(), table_format::date);
  const auto r = run_lut_tool(dir, "rank '" + in + "'");
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "LAPACKE"));
}

#endif

TEST_CASE("amgrad-lut lut2d_lowrank options: usage errors") {
  temp_dir dir;
  const auto in = dir.file("e.date");
  write_product_table(in, make_product_table<u6>(exact{}), table_format::date);
  const std::string out = " -o '" + dir.file("g.txt") + "'";
  const std::string grad = "grad '" + in + "' --scheme ";
  CHECK(run_lut_tool(dir, grad + "lut2d --rank 2" + out).exit_code == 2);
  CHECK(run_lut_tool(dir, grad + "lut1d --rank-tol 0.1" + out).exit_code == 2);
  CHECK(run_lut_tool(dir, grad + "lut2d_lowrank --rank 2 --rank-tol 0.1" + out).exit_code == 2);
  CHECK(run_lut_tool(dir, grad + "lut2d_lowrank --rank 0" + out).exit_code == 2);
  CHECK(run_lut_tool(dir, grad + "lut2d_lowrank --rank-tol -0.5" + out).exit_code == 2);
  CHECK(run_lut_tool(dir, grad + "lut2d_lowrank --rank-tol nan" + out).exit_code == 2);
  CHECK(run_lut_tool(dir, "rank '" + in + "' --rank 2").exit_code == 2);
  CHECK(run_lut_tool(dir, "rank '" + in + "' --max-rank 0").exit_code == 2);
  CHECK(run_lut_tool(dir, "rank").exit_code == 2);
  const auto missing = run_lut_tool(dir, "rank '" + dir.file("missing.date") + "'");
  CHECK(missing.exit_code == 1);
  CHECK(contains(missing.err, "missing.date"));
}
