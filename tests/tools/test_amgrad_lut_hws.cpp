// amgrad-lut hws: the proposed LUT-2D half window, alone on the last line (or in JSON).
#include <doctest/doctest.h>

#include <string>

#include "amgrad/amgrad.hpp"
#include "amgrad/gradient/hws.hpp"
#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/table/io.hpp"
#include "run_tool.hpp"

using namespace amgrad;
using amgrad::test::contains;
using amgrad::test::last_line;
using amgrad::test::run_lut_tool;
using amgrad::test::temp_dir;

TEST_CASE("amgrad-lut hws: the library's proposal alone on the last line, in every format") {
  temp_dir dir;
  const auto lut = make_product_table<u7>(truncated{6});
  const auto expected = propose_hws(lut);
  for (auto f : {table_format::date, table_format::approxtorch, table_format::tfapprox}) {
    CAPTURE(to_string(f));
    const auto path = dir.file(std::string("t6u7.") + to_string(f));
    write_product_table(path, lut, f);
    const auto r = run_lut_tool(dir, "hws '" + path + "'" + (f == table_format::tfapprox ? " --bits 7" : ""));
    REQUIRE(r.exit_code == 0);
    CHECK(last_line(r.out) == std::to_string(expected.hws));
    CHECK(contains(r.out, "roughness"));
  }
  const auto exact_path = dir.file("exact.date");
  write_product_table(exact_path, make_product_table<u8>(exact{}), table_format::date);
  CHECK(last_line(run_lut_tool(dir, "hws '" + exact_path + "'").out) == "1");
}

TEST_CASE("amgrad-lut hws --json and --max-roughness") {
  temp_dir dir;
  const auto path = dir.file("t8u8.date");
  write_product_table(path, make_product_table<u8>(truncated{8}), table_format::date);
  const auto r = run_lut_tool(dir, "hws '" + path + "' --json");
  REQUIRE(r.exit_code == 0);
  const auto p = propose_hws(make_product_table<u8>(truncated{8}));
  CHECK(contains(r.out, "\"hws\": " + std::to_string(p.hws) + "}"));
  CHECK(contains(r.out, "\"ladder\": [{\"hws\": 1,"));
  CHECK(last_line(run_lut_tool(dir, "hws '" + path + "' --max-roughness 1").out) == "1");
  CHECK(last_line(run_lut_tool(dir, "hws '" + path + "' --max-roughness 1e-9").out) == "64");
}

TEST_CASE("amgrad-lut hws: exit codes") {
  temp_dir dir;
  const auto path = dir.file("e.date");
  write_product_table(path, make_product_table<u6>(exact{}), table_format::date);
  CHECK(run_lut_tool(dir, "hws").exit_code == 2);
  CHECK(run_lut_tool(dir, "hws '" + path + "' --max-roughness -1").exit_code == 2);
  CHECK(run_lut_tool(dir, "hws '" + path + "' --max-roughness x").exit_code == 2);
  CHECK(run_lut_tool(dir, "hws '" + path + "' --nope").exit_code == 2);
  const auto missing = run_lut_tool(dir, "hws '" + dir.file("missing.date") + "'");
  CHECK(missing.exit_code == 1);
  CHECK(contains(missing.err, "missing.date"));
}
