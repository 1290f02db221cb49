// amgrad-lut make --blif FILE / --verilog FILE: the tool writes the table the library simulates,
// port options reach the simulation, and bad input is exit 1 (runtime) or 2 (usage).
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "../tools/run_tool.hpp"
#include "amgrad/netlist/netlist.hpp"
#include "amgrad/table/io.hpp"

using namespace amgrad;
using amgrad::test::contains;
using amgrad::test::run_lut_tool;
using amgrad::test::temp_dir;

namespace {
const std::string dir = AMGRAD_NETLIST_DIR;
}  // namespace

TEST_CASE("amgrad-lut make --verilog/--blif writes the simulated table") {
  temp_dir tmp;
  const std::string v = tmp.file("m.v");
  amgrad::test::write_text(v,
                           "module m(input [2:0] P, input [2:0] Q, output [5:0] R);\n"
                           "  assign R = {Q, P} ^ {P[0], Q[2:0], 2'b01};\nendmodule\n");
  const auto library = netlist::import_table(v);
  auto r = run_lut_tool(tmp, "make --verilog '" + v + "' -o '" + tmp.file("a.txt") + "'");
  REQUIRE(r.exit_code == 0);
  CHECK(read_product_table(tmp.file("a.txt")) == library);
  netlist::port_map swapped;
  swapped.swap = true;
  swapped.is_signed = true;
  r = run_lut_tool(tmp, "make --verilog '" + v + "' --swap --signed --to approxtorch -o '" + tmp.file("b.txt") + "'");
  REQUIRE(r.exit_code == 0);
  const auto b = read_product_table(tmp.file("b.txt"), table_format::approxtorch, true);
  CHECK(b == netlist::simulate(netlist::read_verilog(v), swapped));
  CHECK(b != library);

  r = run_lut_tool(tmp, "make --verilog '" + v + "' --port-out S -o '" + tmp.file("c.txt") + "'");
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "no output port 'S'"));
  r = run_lut_tool(tmp, "make --verilog '" + v + "' --bits 3 -o '" + tmp.file("c.txt") + "'");
  CHECK(r.exit_code == 2);
  r = run_lut_tool(tmp, "make exact --bits 3 --swap -o '" + tmp.file("c.txt") + "'");
  CHECK(r.exit_code == 2);
  r = run_lut_tool(tmp, "make --blif '" + v + "' -o '" + tmp.file("c.txt") + "'");
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "m.v:1:"));

  if (std::filesystem::is_directory(dir)) {
    const std::string blif = dir + "/mul8u_17C8_sop.blif";
    r = run_lut_tool(tmp, "make --blif '" + blif + "' -o '" + tmp.file("d.txt.gz") + "'");
    REQUIRE(r.exit_code == 0);
    CHECK(read_product_table(tmp.file("d.txt.gz")) == netlist::import_table(dir + "/mul8u_17C8.v"));
  }
}
