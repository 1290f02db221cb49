// Netlist import: the published designs reproduce their authors' tables bit for bit (BLIF and
// Verilog), generated multipliers of every width reproduce a*b through hierarchy, port options
// do what they say, and each construct outside the subset is an error naming file and line.
#include <doctest/doctest.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "amgrad/netlist/netlist.hpp"

using namespace amgrad;
namespace nl = amgrad::netlist;

namespace {

const std::string dir = AMGRAD_NETLIST_DIR;

// The authors' _lutfp.txt.gz: tool warnings and INFO lines, then 'LUT for approximate
// multiplier:' and 'a b value' lines. (amgrad::read_product_table does not take these files:
// the leading 'Warning:' lines make detection pick ApproxTorch, and the DATE reader rejects them.)
product_table read_lutfp(const std::string& path, int bits) {
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  product_table t(operand_format{bits, false}, -1);
  char buffer[512];
  bool header = false;
  long entries = 0;
  while (gzgets(f, buffer, sizeof buffer)) {
    const std::string line(buffer);
    if (!header) {
      header = line.rfind("LUT for approximate multiplier:", 0) == 0;
      continue;
    }
    std::istringstream in(line);
    long a, b, v;
    if (!(in >> a >> b >> v)) break;  // the gradient sections, if any, follow
    REQUIRE(a < t.side());
    REQUIRE(b < t.side());
    t(static_cast<int>(a), static_cast<int>(b)) = static_cast<std::int32_t>(v);
    ++entries;
  }
  gzclose(f);
  REQUIRE(header);
  REQUIRE(entries == static_cast<long>(t.size()));
  return t;
}

long mismatches(const product_table& x, const product_table& y) {
  REQUIRE(x.format() == y.format());
  long n = 0;
  for (std::size_t i = 0; i < x.size(); ++i) n += x.values()[i] != y.values()[i];
  return n;
}

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const amgrad::error& e) {
    return e.what();
  }
  return "(no error)";
}

// A B-bit unsigned multiplier as GenMul builds one: partial products, column compression with
// full and half adder modules, hierarchical; Verilog (positional and named connections, vectors,
// slices, concatenation, block comments) or BLIF (.subckt, ON- and OFF-set covers).
struct column_tree {
  struct cell { bool full; int x, y, z, s, c; };
  int wires = 0;
  std::vector<int> pp;  // partial product wire of a[j] & b[i]: pp[i * B + j]
  std::vector<cell> cells;
  std::vector<int> out;  // one wire per column, -1 for constant 0
  explicit column_tree(int bits) {
    std::vector<std::vector<int>> col(static_cast<std::size_t>(2 * bits + 1));
    for (int i = 0; i < bits; ++i)
      for (int j = 0; j < bits; ++j) {
        pp.push_back(wires);
        col[static_cast<std::size_t>(i + j)].push_back(wires++);
      }
    for (std::size_t k = 0; k + 1 < col.size(); ++k)
      while (col[k].size() > 1) {
        auto& v = col[k];
        const bool full = v.size() >= 3;
        cell c{full, v[0], v[1], full ? v[2] : -1, wires, wires + 1};
        wires += 2;
        v.erase(v.begin(), v.begin() + (full ? 3 : 2));
        v.push_back(c.s);
        col[k + 1].push_back(c.c);
        cells.push_back(c);
      }
    for (int k = 0; k < 2 * bits; ++k) out.push_back(col[static_cast<std::size_t>(k)].empty() ? -1 : col[static_cast<std::size_t>(k)][0]);
  }
};

std::string generated_verilog(int bits) {
  column_tree t(bits);
  std::ostringstream v;
  v << "/* generated, GenMul style\n   second line */\n"
       "module FullAdder(X, Y, Z, S, C);\n  output C;\n  output S;\n  input X;\n  input Y;\n  input Z;\n"
       "  assign C = ( X & Y ) | ( Y & Z ) | ( Z & X );\n  assign S = X ^ Y ^ Z;\nendmodule\n"
       "module HalfAdder(X, Y, S, C);\n  output C;\n  output S;\n  input X;\n  input Y;\n"
       "  assign C = ~(~X | ~Y);\n  assign S = X ^ Y;\nendmodule\n"
       "module PP(IN1, IN2, P);\n  input [" << bits - 1 << ":0] IN1;\n  input [" << bits - 1 << ":0] IN2;\n"
       "  output [" << bits * bits - 1 << ":0] P;\n";
  for (int i = 0; i < bits; ++i)
    for (int j = 0; j < bits; ++j) v << "  assign P[" << i * bits + j << "] = IN1[" << j << "] & IN2[" << i << "];\n";
  v << "endmodule\n"
       "module Mult(IN1, IN2, Out);\n  input [" << bits - 1 << ":0] IN1;\n  input [" << bits - 1 << ":0] IN2;\n"
       "  output [" << 2 * bits - 1 << ":0] Out;\n  wire [" << t.wires - 1 << ":0] w;\n"
       "  wire [" << 2 * bits << ":0] aOut;\n"
       "  PP S0 (IN1, IN2, w[" << bits * bits - 1 << ":0]);\n";
  int n = 0;
  for (const auto& c : t.cells) {
    if (c.full) v << "  FullAdder U" << n++ << " (w[" << c.x << "], w[" << c.y << "], w[" << c.z << "], w[" << c.s << "], w[" << c.c << "]);\n";
    else v << "  HalfAdder U" << n++ << " (.Y(w[" << c.y << "]), .X(w[" << c.x << "]), .C(w[" << c.c << "]), .S(w[" << c.s << "]));\n";
  }
  for (int k = 0; k < 2 * bits; ++k)
    v << "  assign aOut[" << k << "] = " << (t.out[static_cast<std::size_t>(k)] < 0 ? std::string("1'b0") : "w[" + std::to_string(t.out[static_cast<std::size_t>(k)]) + "]") << ";\n";
  v << "  assign aOut[" << 2 * bits << "] = 0;\n  assign Out = {aOut[" << 2 * bits - 1 << ":1], aOut[0]};\nendmodule\n";
  return v.str();
}

std::string generated_blif(int bits) {
  column_tree t(bits);
  std::ostringstream v;
  const auto w = [](int i) { return "w[" + std::to_string(i) + "]"; };
  v << "# generated, Yosys style\n.model Mult\n.inputs";
  for (int j = 0; j < bits; ++j) v << " IN1[" << j << "]";
  v << " \\\n";
  for (int j = 0; j < bits; ++j) v << " IN2[" << j << "]";
  v << "\n.outputs";
  for (int k = 0; k < 2 * bits; ++k) v << " Out[" << k << "]";
  v << "\n";
  for (int i = 0; i < bits; ++i)
    for (int j = 0; j < bits; ++j)
      v << ".names IN1[" << j << "] IN2[" << i << "] " << w(t.pp[static_cast<std::size_t>(i * bits + j)]) << "\n11 1\n";
  for (const auto& c : t.cells) {
    if (c.full) v << ".subckt FullAdder X=" << w(c.x) << " Y=" << w(c.y) << " Z=" << w(c.z) << " S=" << w(c.s) << " C=" << w(c.c) << "\n";
    else v << ".subckt HalfAdder C=" << w(c.c) << " S=" << w(c.s) << " X=" << w(c.x) << " Y=" << w(c.y) << "\n";
  }
  for (int k = 0; k < 2 * bits; ++k)
    v << ".names " << (t.out[static_cast<std::size_t>(k)] < 0 ? std::string("$false") : w(t.out[static_cast<std::size_t>(k)])) << " Out[" << k << "]\n1 1\n";
  v << ".end\n\n.model FullAdder\n.inputs X Y Z\n.outputs S C\n.names X Y Z S\n100 1\n010 1\n001 1\n111 1\n"
       ".names X Y Z C\n11- 1\n1-1 1\n-11 1\n.end\n\n.model HalfAdder\n.inputs X Y\n.outputs S C\n"
       ".names X Y S\n00 0\n11 0\n.names X Y C\n0- 0\n-0 0\n.end\n";
  return v.str();
}

template <class F>
void check_exact(const product_table& t, F product) {
  long bad = 0;
  for (int a = 0; a < t.side(); ++a)
    for (int b = 0; b < t.side(); ++b) bad += t(a, b) != product(t.format().value(a), t.format().value(b));
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("the published netlists reproduce their authors' tables bit for bit") {
  if (!std::filesystem::is_directory(dir)) {
    MESSAGE("no conformance data in " << dir);
    return;
  }
  const std::vector<std::string> designs = {"mul8u_17C8",
                                            "8_8_U_SP_WT_CL_GenMul_vertical_truncation_8cols"};
  for (const auto& d : designs) {
    CAPTURE(d);
    const auto reference = read_lutfp(dir + "/" + d + "_lutfp.txt.gz", 8);
    const auto start = std::chrono::steady_clock::now();
    const auto from_verilog = nl::import_table(dir + "/" + d + ".v");
    const auto mid = std::chrono::steady_clock::now();
    const auto from_blif = nl::import_table(dir + "/" + d + "_sop.blif");
    const auto end = std::chrono::steady_clock::now();
    MESSAGE(d << ": Verilog read+simulate " << std::chrono::duration<double, std::milli>(mid - start).count()
              << " ms, BLIF " << std::chrono::duration<double, std::milli>(end - mid).count() << " ms");
    CHECK(mismatches(from_verilog, reference) == 0);
    CHECK(mismatches(from_blif, reference) == 0);
    // The operand order is part of the conformance: where the design is not symmetric (the
    // column truncation is), the swapped mapping must not match.
    bool symmetric = true;
    for (int a = 0; a < 256; ++a)
      for (int b = 0; b < a; ++b) symmetric = symmetric && reference(a, b) == reference(b, a);
    nl::port_map swapped;
    swapped.swap = true;
    if (!symmetric)
      CHECK(mismatches(nl::simulate(nl::read_blif(dir + "/" + d + "_sop.blif"), swapped), reference) > 0);
    CHECK(symmetric == (d != "mul8u_17C8"));
    // The designs are approximate: an exact table would not match (the check can fail).
    long inexact = 0;
    for (int a = 0; a < 256; ++a)
      for (int b = 0; b < 256; ++b) inexact += from_verilog(a, b) != a * b;
    CHECK(inexact > 0);
  }
}

TEST_CASE("generated hierarchical multipliers of every width give a*b, in Verilog and BLIF") {
  for (int bits = 2; bits <= 8; ++bits) {
    CAPTURE(bits);
    const auto from_v = nl::simulate(nl::parse_verilog(generated_verilog(bits), "gen.v"));
    std::istringstream blif(generated_blif(bits));
    const auto from_b = nl::simulate(nl::parse_blif(blif, "gen.blif"));
    check_exact(from_v, [](int a, int b) { return a * b; });
    check_exact(from_b, [](int a, int b) { return a * b; });
  }
}

TEST_CASE("port options: named operands, swap, signed interpretation") {
  // a - b (mod 2^4) on 4-bit ports: not symmetric, so a swap shows, and signed reads matter.
  const std::string v =
      "module sub(input [3:0] X, input [3:0] Y, input [3:0] Z, output [3:0] D, output [3:0] E);\n"
      "  wire [4:0] borrow;\n  assign borrow[0] = 1'b0;\n"
      "  assign D = X ^ Y ^ borrow[3:0];\n"
      "  assign borrow[4:1] = (~X & Y) | (~(X ^ Y) & borrow[3:0]);\n"
      "  assign E = Z;\nendmodule\n";
  const auto c = nl::parse_verilog(v, "sub.v");
  CHECK(message_of([&] { nl::simulate(c); }).find("3 input ports") != std::string::npos);
  nl::port_map m;
  m.a = "X";
  m.b = "Y";
  m.product = "D";
  check_exact(nl::simulate(c, m), [](int a, int b) { return (a - b) & 15; });
  m.swap = true;
  check_exact(nl::simulate(c, m), [](int a, int b) { return (b - a) & 15; });
  m.swap = false;
  m.is_signed = true;
  check_exact(nl::simulate(c, m), [](int a, int b) {
    const int r = (a - b) & 15;
    return r >= 8 ? r - 16 : r;
  });
  m.a = "Z";
  m.is_signed = false;
  CHECK(message_of([&] { nl::simulate(c, m); }).find("input 'X[0]' reaches the product") != std::string::npos);
  m.a = "Q";
  CHECK(message_of([&] { nl::simulate(c, m); }).find("no input port 'Q'") != std::string::npos);
}

TEST_CASE("constructs outside the subset are errors naming file and line") {
  const auto verilog_error = [](const std::string& text) {
    return message_of([&] { nl::simulate(nl::parse_verilog(text, "t.v")); });
  };
  const auto blif_error = [](const std::string& text) {
    std::istringstream in(text);
    return message_of([&] { nl::simulate(nl::parse_blif(in, "t.blif")); });
  };
  const std::string head = "module m(A, B, O);\ninput [1:0] A;\ninput [1:0] B;\noutput [3:0] O;\n";
  // sequential logic
  CHECK(verilog_error(head + "reg r;\nendmodule\n").find("t.v:5: 'reg'") != std::string::npos);
  CHECK(verilog_error(head + "always @(posedge A) O = B;\nendmodule\n").find("t.v:5:") != std::string::npos);
  // unknown gate / module
  CHECK(verilog_error(head + "assign O = 0;\nMAJ3 u1 (A[0], B[0], O[0]);\nendmodule\n")
            .find("t.v:6: instance of an unknown module 'MAJ3'") != std::string::npos);
  CHECK(verilog_error(head + "assign O = A + B;\nendmodule\n").find("t.v:5: expected ';', got '+'") != std::string::npos);
  // undriven output bit
  CHECK(verilog_error(head + "assign O[2:0] = {A[0] & B[0], A[1], B[1]};\nendmodule\n")
            .find("t.v:4: net 'O[3]' is undriven") != std::string::npos);
  // combinational loop
  CHECK(verilog_error(head + "wire x, y;\nassign x = y & A[0];\nassign y = x | B[0];\nassign O = {x, y};\nendmodule\n")
            .find("combinational loop") != std::string::npos);
  // two drivers
  CHECK(verilog_error(head + "assign O = A;\nassign O[1] = B[0];\nendmodule\n").find("t.v:6: net 'O[1]' has a second driver") !=
        std::string::npos);
  // a well-formed variant of the same head works (the checks above fail for their own reason)
  check_exact(nl::simulate(nl::parse_verilog(head + "assign O = {A, B};\nendmodule\n", "t.v")),
              [](int a, int b) { return a * 4 + b; });

  const std::string bhead = ".model m\n.inputs A[0] A[1] B[0] B[1]\n.outputs O[0] O[1]\n";
  CHECK(blif_error(bhead + ".latch A[0] O[0] re clk 0\n.end\n").find("t.blif:4: .latch: sequential") != std::string::npos);
  CHECK(blif_error(bhead + ".gate AND2 a=A[0] b=B[0] O=O[0]\n.end\n").find("t.blif:4: '.gate'") != std::string::npos);
  CHECK(blif_error(bhead + ".names A[0] B[0] O[0]\n11 1\n.end\n").find("t.blif:3: net 'O[1]' is undriven") !=
        std::string::npos);
  CHECK(blif_error(bhead + ".names A[0] x O[0]\n11 1\n.names O[0] x\n1 1\n.names x O[1]\n1 1\n.end\n")
            .find("combinational loop") != std::string::npos);
  CHECK(blif_error(bhead + ".names A[0] O[0]\n1x 1\n.end\n").find("t.blif:5:") != std::string::npos);
  CHECK(blif_error(bhead + ".subckt nothing x=A[0]\n.end\n").find("t.blif:4: .subckt of an unknown model") !=
        std::string::npos);
  CHECK(blif_error(bhead + ".names A[0] O[0]\n1 1\n.names O[1]\n1\n").find("has no .end") != std::string::npos);
  {
    std::istringstream in(bhead + ".names A[0] B[0] O[0]\n11 1\n.names O[1]\n1\n.end\n");
    check_exact(nl::simulate(nl::parse_blif(in, "t.blif")), [](int a, int b) { return 2 + ((a & b) & 1); });
  }
  CHECK(message_of([] { nl::import_table("/nonexistent/x.blif"); }).find("cannot open") != std::string::npos);
  CHECK(message_of([] { nl::import_table("x.vhd"); }).find("unknown netlist extension") != std::string::npos);
}
