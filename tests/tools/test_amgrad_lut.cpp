// amgrad-lut, run as a user would: commands, outputs read back with the library, exit codes.
#include <doctest/doctest.h>

#include <string>

#include <boost/hana.hpp>

#include "amgrad/amgrad.hpp"
#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/table/io.hpp"
#include "run_tool.hpp"

using namespace amgrad;
using amgrad::test::contains;
using amgrad::test::run_lut_tool;
using amgrad::test::temp_dir;

namespace {

// u2 exact table with (3, 3): 9 -> 12 and (1, 2): 2 -> 1, whose metrics are worked out by hand
// in tests/table/test_metrics.cpp: ER 2/16, MED 4/16, WCE 3, bias 2/16, MSE 10/16.
product_table u2_table() {
  product_table t({2, false}, {0, 0, 0, 0, 0, 1, 2, 3, 0, 2, 4, 6, 0, 3, 6, 9});
  t(3, 3) = 12;
  t(1, 2) = 1;
  return t;
}

}  // namespace

TEST_CASE("amgrad-lut info: JSON keys and values, in every input format") {
  temp_dir dir;
  for (auto f : {table_format::date, table_format::approxtorch, table_format::tfapprox}) {
    CAPTURE(to_string(f));
    const auto path = dir.file(std::string("u2.") + to_string(f));
    write_product_table(path, u2_table(), f);
    // A TFApprox file does not say its width: the tool is told (--bits), as the format needs.
    const auto r = run_lut_tool(dir, "info '" + path + "' --json" +
                                         (f == table_format::tfapprox ? " --bits 2" : ""));
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    for (const char* part : {"\"er\": 0.125", "\"med\": 0.25", "\"nmed_over_2_pow_2b\": 0.015625",
                             "\"wce\": 3", "\"bias\": 0.125", "\"mse\": 0.625", "\"bits\": 2",
                             "\"signed\": false", "\"mred\": ", "\"max_product\": 9",
                             "\"nmed_over_max_product\": "})
      CHECK_MESSAGE(contains(r.out, part), part << " not in " << r.out);
    CHECK(contains(r.out, std::string("\"format\": \"") + to_string(f) + "\""));
    CHECK(r.out.front() == '{');
    CHECK(r.out.substr(r.out.size() - 2) == "}\n");
  }
  const auto text = run_lut_tool(dir, "info '" + dir.file("u2.date") + "'");
  CHECK(text.exit_code == 0);
  CHECK(contains(text.out, "ER      12.5 %"));
  CHECK(contains(text.out, "WCE     3"));
  // ApproxTorch files do not carry signedness: --signed says it.
  const auto s = run_lut_tool(dir, "info '" + dir.file("u2.approxtorch") + "' --json --signed");
  CHECK(contains(s.out, "\"signed\": true"));
}

TEST_CASE("amgrad-lut grad: gradient sections in x16 fixed point") {
  temp_dir dir;
  const auto in = dir.file("u4.txt");
  run_lut_tool(dir, "make exact --bits 4 -o '" + in + "'");
  SUBCASE("ste: 16 b and 16 a") {
    REQUIRE(run_lut_tool(dir, "grad '" + in + "' --scheme ste -o '" + dir.file("g.txt.gz") + "'").exit_code == 0);
    const auto g = read_date(dir.file("g.txt.gz"));
    REQUIRE(g.grad_a_x16.has_value());
    REQUIRE(g.grad_b_x16.has_value());
    for (int a = 0; a < 16; ++a)
      for (int b = 0; b < 16; ++b) {
        CHECK((*g.grad_a_x16)(a, b) == 16 * b);
        CHECK((*g.grad_b_x16)(a, b) == 16 * a);
      }
    CHECK(contains(g.info.at(1), "scheme=ste"));
  }
  SUBCASE("lut2d: the library's Eq. 6 tables, and the default HWS is stated") {
    REQUIRE(run_lut_tool(dir, "grad '" + in + "' --scheme lut2d --hws 2 -o '" + dir.file("g.txt") + "'").exit_code == 0);
    const auto g = read_date(dir.file("g.txt"));
    const auto expected = lut2d{2}.tables(g.lut);
    CHECK(*g.grad_a_x16 == to_fixed_point(expected.da, 16));
    CHECK(*g.grad_b_x16 == to_fixed_point(expected.db, 16));
    // Exact multiplier, interior: the smoothed slope is b itself.
    CHECK((*g.grad_a_x16)(7, 5) == 16 * 5);
    REQUIRE(run_lut_tool(dir, "grad '" + in + "' --scheme lut2d -o '" + dir.file("d.txt") + "'").exit_code == 0);
    CHECK(contains(read_date(dir.file("d.txt")).info.at(1), "half_ws_a=2, half_ws_b=2, boundary=eq6"));
  }
  SUBCASE("lut1d: separable, one value per b") {
    REQUIRE(run_lut_tool(dir, "grad '" + in + "' --scheme lut1d --rule secant -o '" + dir.file("g.txt") + "'").exit_code == 0);
    const auto g = read_date(dir.file("g.txt"));
    for (int a = 0; a < 16; ++a) CHECK((*g.grad_a_x16)(a, 9) == 16 * 9);  // secant of a*9 is 9
  }
  SUBCASE("usage errors exit with 2") {
    for (const char* args : {"--scheme ste", "--scheme magic -o x", "--scheme ste --hws 3 -o x",
                             "--scheme lut1d --compat -o x", "--scheme lut2d --hws two -o x",
                             "--scheme lut2d --rule secant -o x", "--scheme lut2d -o x extra"}) {
      CAPTURE(args);
      const auto r = run_lut_tool(dir, "grad '" + in + "' " + args);
      CHECK(r.exit_code == 2);
      CHECK(r.err.rfind("amgrad-lut: ", 0) == 0);
    }
  }
  SUBCASE("a window wider than the table is a runtime error") {
    const auto r = run_lut_tool(dir, "grad '" + in + "' --scheme lut2d --hws 8 -o '" + dir.file("g.txt") + "'");
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "amgrad-lut: amgrad::lut2d: half window size 8 does not fit a u4 table"));
  }
}

TEST_CASE("amgrad-lut convert: a round trip through every format keeps the table") {
  temp_dir dir;
  const auto start = dir.file("u2.txt");
  write_date(start, date_table_file{{}, u2_table(), {}, {}});
  REQUIRE(run_lut_tool(dir, "convert '" + start + "' '" + dir.file("a.txt") + "' --to approxtorch").exit_code == 0);
  REQUIRE(run_lut_tool(dir, "convert '" + dir.file("a.txt") + "' '" + dir.file("t.bin") + "' --to tfapprox").exit_code == 0);
  REQUIRE(run_lut_tool(dir, "convert '" + dir.file("t.bin") + "' '" + dir.file("d.txt.gz") + "' --to date --bits 2").exit_code == 0);
  // Without --bits a 2-bit TFApprox file is not a 256x256 table: an error, not a guess.
  const auto guess = run_lut_tool(dir, "info '" + dir.file("t.bin") + "'");
  CHECK(guess.exit_code == 1);
  CHECK(read_approxtorch(dir.file("a.txt")) == u2_table());
  CHECK(read_tfapprox(dir.file("t.bin"), 2) == u2_table());
  CHECK(read_date(dir.file("d.txt.gz")).lut == u2_table());

  // Gradient sections survive date -> date, and are reported when a format cannot hold them.
  run_lut_tool(dir, "grad '" + start + "' --scheme ste -o '" + dir.file("g.txt") + "'");
  REQUIRE(run_lut_tool(dir, "convert '" + dir.file("g.txt") + "' '" + dir.file("g2.txt") + "' --to date").exit_code == 0);
  CHECK(test::read_bytes(dir.file("g2.txt")) == test::read_bytes(dir.file("g.txt")));
  const auto dropped = run_lut_tool(dir, "convert '" + dir.file("g.txt") + "' '" + dir.file("g.bin") + "' --to tfapprox");
  CHECK(dropped.exit_code == 0);
  CHECK(contains(dropped.err, "gradient sections"));

  CHECK(run_lut_tool(dir, "convert '" + start + "' '" + dir.file("x") + "'").exit_code == 2);
  CHECK(run_lut_tool(dir, "convert '" + start + "' '" + dir.file("x") + "' --to csv").exit_code == 2);
  const auto wrong = run_lut_tool(dir, "convert '" + start + "' '" + dir.file("x") + "' --to date --format approxtorch");
  CHECK(wrong.exit_code == 1);
  CHECK(contains(wrong.err, "u2.txt:1: entry 'LUT' is not a number"));
  // A signed table has no TFApprox form.
  run_lut_tool(dir, "make exact --bits 3 --signed -o '" + dir.file("s3.txt") + "'");
  const auto s = run_lut_tool(dir, "convert '" + dir.file("s3.txt") + "' '" + dir.file("s.bin") + "' --to tfapprox");
  CHECK(s.exit_code == 1);
  CHECK(contains(s.err, "unsigned products only"));
}

TEST_CASE("amgrad-lut make: built-in models at every width and signedness") {
  temp_dir dir;
  for (int bits = min_bits; bits <= max_bits; ++bits)
    for (bool is_signed : {false, true}) {
      CAPTURE(bits);
      CAPTURE(is_signed);
      const auto out = dir.file("e.txt");
      REQUIRE(run_lut_tool(dir, "make exact --bits " + std::to_string(bits) + (is_signed ? " --signed" : "") +
                                    " -o '" + out + "'").exit_code == 0);
      const auto lut = read_date(out).lut;
      const operand_format f{bits, is_signed};
      REQUIRE(lut.format() == f);
      bool all_exact = true;
      for (int a = f.min_value(); a <= f.max_value(); ++a)
        for (int b = f.min_value(); b <= f.max_value(); ++b) all_exact &= lut.at_value(a, b) == a * b;
      CHECK(all_exact);
    }
  // truncated 2 at 4 bits drops column 0 (a0 b0, weight 1) and column 1 (a0 b1 + a1 b0, weight 2).
  REQUIRE(run_lut_tool(dir, "make truncated 2 --bits 4 --to approxtorch -o '" + dir.file("t.txt") + "'").exit_code == 0);
  const auto t = read_approxtorch(dir.file("t.txt"));
  CHECK(t(15, 15) == 225 - 1 - 2 - 2);
  CHECK(t(1, 1) == 0);
  CHECK(t(2, 2) == 4);

  for (const char* args : {"", "exact", "exact --bits 9 -o x", "exact --bits 4", "truncated --bits 4 -o x",
                           "truncated 1 2 --bits 4 -o x", "unknown --bits 4 -o x", "exact --bits 4 -o x --to csv"}) {
    CAPTURE(args);
    const auto r = run_lut_tool(dir, std::string("make ") + args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("amgrad-lut: ", 0) == 0);
  }
  const auto bad = run_lut_tool(dir, "make truncated 40 --bits 4 -o x");
  CHECK(bad.exit_code == 1);
  CHECK(contains(bad.err, "column count"));
}

TEST_CASE("amgrad-lut: exit codes and messages") {
  temp_dir dir;
  CHECK(run_lut_tool(dir, "").exit_code == 2);
  CHECK(run_lut_tool(dir, "frobnicate").exit_code == 2);
  CHECK(run_lut_tool(dir, "info").exit_code == 2);
  CHECK(run_lut_tool(dir, "info a b").exit_code == 2);
  CHECK(run_lut_tool(dir, "info x --bogus").exit_code == 2);
  const auto help = run_lut_tool(dir, "--help");
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "usage:"));
  const auto missing = run_lut_tool(dir, "info '" + dir.file("absent.txt") + "'");
  CHECK(missing.exit_code == 1);
  CHECK(contains(missing.err, "amgrad-lut: "));
  CHECK(contains(missing.err, "absent.txt"));
  const auto corrupt = run_lut_tool(dir, "info '" + test::write_text(dir.file("c.txt"), "LUT for approximate multiplier:\n0 0 zero\n") + "'");
  CHECK(corrupt.exit_code == 1);
  CHECK(contains(corrupt.err, "c.txt:2: value 'zero' is not a number"));
}

TEST_CASE("amgrad-lut make: every built-in model, its parameters in order, at two formats") {
  namespace hana = boost::hana;
  temp_dir dir;
  // (command-line model, the model the library builds from the same parameters)
  const auto cases = hana::make_tuple(
      hana::make_pair("exact", exact{}), hana::make_pair("truncated 3", truncated{3}),
      hana::make_pair("bam 1 4", bam{1, 4}), hana::make_pair("bam 4 1", bam{4, 1}),
      hana::make_pair("drum 3", drum{3}), hana::make_pair("mitchell", mitchell{}),
      hana::make_pair("kulkarni", kulkarni{}), hana::make_pair("etm 3", etm{3}),
      hana::make_pair("perforated 1 2", perforated{1, 2}), hana::make_pair("perforated 2 1", perforated{2, 1}));
  hana::for_each(cases, [&](const auto& c) {
    using Model = std::decay_t<decltype(hana::second(c))>;
    const std::string args = hana::first(c);
    CAPTURE(args);
    hana::for_each(hana::tuple_t<unsigned_operand<6>, signed_operand<5>>, [&](auto t) {
      using Op = typename decltype(t)::type;
      const auto r = run_lut_tool(dir, "make " + args + " --bits " + std::to_string(Op::bits) +
                                           (Op::is_signed ? " --signed" : "") + " -o '" + dir.file("m.txt") + "'");
      if constexpr (Model::supports_signed || !Op::is_signed) {
        REQUIRE(r.exit_code == 0);
        CHECK(read_date(dir.file("m.txt")).lut == make_product_table<Op>(hana::second(c)));
      } else {
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "has no signed definition"));
      }
    });
  });
  // A parameter the model refuses is a runtime error from the model itself.
  CHECK(run_lut_tool(dir, "make etm 99 --bits 8 -o x").exit_code == 1);
  CHECK(run_lut_tool(dir, "make bam 1 --bits 8 -o x").exit_code == 2);
}
