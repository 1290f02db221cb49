// Table file formats: round trips for every width and signedness each format supports, the
// exact published layout, and a clear amgrad::error (naming file and line or offset) for each
// kind of bad input.
#include <doctest/doctest.h>

#include <boost/hana.hpp>
#include <random>
#include <string>

#include "amgrad/amgrad.hpp"
#include "amgrad/table/io.hpp"
#include "temp_dir.hpp"

using namespace amgrad;
namespace hana = boost::hana;
using amgrad::test::temp_dir;
using amgrad::test::write_text;

namespace {

inline constexpr auto round_trip_operands =
    hana::tuple_t<unsigned_operand<2>, unsigned_operand<3>, unsigned_operand<4>, u7, u8,
                  signed_operand<2>, signed_operand<5>, s8>;

std::mt19937& rng() {
  static std::mt19937 engine{1234};
  return engine;
}

template <class T>
table<T> random_table(operand_format f, int lo, int hi) {
  std::uniform_int_distribution<int> dist(lo, hi);
  table<T> t(f);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<T>(dist(rng()));
  return t;
}

// A small DATE'25 file body for a u2 table, written by hand.
std::string u2_date_body(const std::string& value_of_3_3 = "9") {
  std::string out = "LUT for approximate multiplier:\n";
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b)
      out += std::to_string(a) + " " + std::to_string(b) + " " +
             (a == 3 && b == 3 ? value_of_3_3 : std::to_string(a * b)) + "\n";
  return out;
}

#define CHECK_ERROR(expr, text) CHECK_THROWS_WITH_AS(expr, doctest::Contains(text), amgrad::error)

}  // namespace

TEST_CASE("DATE'25 text: the published layout, byte for byte") {
  // s2 values -2..1; a-major, b-minor, single spaces, '\n' endings, the published headers.
  date_table_file file;
  file.info = {"file_name=x, QUANTIZATION_BIT=2"};
  file.lut = product_table({2, true}, {4, 2, 0, -2, 2, 1, 0, -1, 0, 0, 0, 0, -2, -1, 0, 1});
  file.grad_a_x16 = table<std::int16_t>({2, true}, std::vector<std::int16_t>(16, -16));
  const std::string text = to_date_text(file);
  const std::string expected_start =
      "INFO: file_name=x, QUANTIZATION_BIT=2\n"
      "LUT for approximate multiplier:\n"
      "-2 -2 4\n-2 -1 2\n-2 0 0\n-2 1 -2\n-1 -2 2\n";
  CHECK(text.substr(0, expected_start.size()) == expected_start);
  const std::string grad_header =
      "\nLUT for the gradient of the approximate multiplier w.r.t. the first operand:\n-2 -2 -16\n";
  CHECK(text.find(grad_header) == text.find("1 1 1\n") + 5);
  CHECK(text.substr(text.size() - 9) == "\n1 1 -16\n");
  CHECK(text.find("second operand") == std::string::npos);
}

TEST_CASE("DATE'25 text: round trip, plain and gzip, every width and signedness") {
  temp_dir dir;
  hana::for_each(round_trip_operands, [&](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    date_table_file file;
    file.info = {"made by the test", "QUANTIZATION_BIT=" + std::to_string(Op::bits)};
    file.lut = random_table<std::int32_t>(Op::format, -70000, 70000);
    file.grad_a_x16 = random_table<std::int16_t>(Op::format, -32768, 32767);
    file.grad_b_x16 = random_table<std::int16_t>(Op::format, -5000, 5000);
    for (const char* name : {"t.txt", "t.txt.gz"}) {
      write_date(dir.file(name), file);
      const auto back = read_date(dir.file(name));
      CHECK(back.info == file.info);
      CHECK(back.lut == file.lut);
      CHECK(back.grad_a_x16 == file.grad_a_x16);
      CHECK(back.grad_b_x16 == file.grad_b_x16);
      CHECK(to_date_text(back) == to_date_text(file));
    }
    // Without INFO lines the format is inferred from the operands alone.
    write_date(dir.file("bare.txt"), date_table_file{{}, file.lut, {}, {}});
    const auto bare = read_date(dir.file("bare.txt"));
    CHECK(bare.lut == file.lut);
    CHECK_FALSE(bare.grad_a_x16.has_value());
    CHECK(amgrad::test::read_bytes(dir.file("bare.txt")) ==
          to_date_text(date_table_file{{}, file.lut, {}, {}}));
  });
}

TEST_CASE("DATE'25 text: the gzip file is compressed and the plain file is not") {
  temp_dir dir;
  const date_table_file file{{}, random_table<std::int32_t>({8, false}, 0, 65025), {}, {}};
  write_date(dir.file("t.txt.gz"), file);
  write_date(dir.file("t.txt"), file);
  const auto gz = amgrad::test::read_bytes(dir.file("t.txt.gz"));
  REQUIRE(gz.size() > 2);
  CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(gz[1]) == 0x8b);
  CHECK(amgrad::test::read_bytes(dir.file("t.txt")) == to_date_text(file));
}

TEST_CASE("DATE'25 text: format sources") {
  temp_dir dir;
  const auto path = write_text(dir.file("u2.txt"), u2_date_body());
  CHECK(read_date(path).lut.format() == operand_format{2, false});
  // QUANTIZATION_BIT is honoured, and must not contradict the operands.
  const auto wide = write_text(dir.file("q.txt"), "INFO: QUANTIZATION_BIT=3\n" + u2_date_body());
  CHECK_ERROR(read_date(wide), "table needs 64");
  const auto narrow = write_text(dir.file("n.txt"), "INFO: x, QUANTIZATION_BIT=1\n" + u2_date_body());
  CHECK_ERROR(read_date(narrow), "n.txt (INFO): QUANTIZATION_BIT=1 is out of range [2, 8]");
  const auto low = write_text(dir.file("l.txt"), "INFO: QUANTIZATION_BIT=2\n" + u2_date_body() + "4 0 0\n");
  CHECK_ERROR(read_date(low), "l.txt:19: the product section has more than 16 entries");
  // An explicit format overrides the inference (and then the operands must fit it).
  CHECK_ERROR(read_date(path, operand_format{2, true}), "u2.txt:4: operand pair (0, 2) is outside the s2 range");
  CHECK_ERROR(read_date(path, operand_format{9, false}), "bit width = 9 is out of range");
}

// The DATE'25 authors' tables simulated from netlists (shared/netlists/*_lutfp.txt.gz) start with
// what their synthesis tool printed ("Warning: ...", "$false", ...) before the INFO lines.
TEST_CASE("DATE'25 text: a tool preamble (Warning lines, $ lines) before the INFO lines is skipped") {
  temp_dir dir;
  std::string text =
      "Warning: Constant-0 drivers added to 1 non-driven nets in network \"m\":\n$false\n"
      "Hierarchy reader flattened 75 instances of logic boxes and left 0 black boxes.\n"
      "INFO: Error rate: 0.5\nLUT for approximate multiplier:\n";
  const auto lut = make_product_table<unsigned_operand<2>>(truncated{1});
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b) text += concat(a, " ", b, " ", lut(a, b), "\n");
  const auto path = dir.file("preamble_lutfp.txt");
  write_text(path, text);
  const auto file = read_date(path);
  CHECK(file.lut == lut);
  CHECK(file.info == std::vector<std::string>{"Error rate: 0.5"});
  CHECK(detect_format(path) == table_format::date);
  CHECK(read_product_table(path) == lut);
  // Tool lines are a preamble only: after the INFO lines they are an error, as any stray text.
  const auto late = dir.file("late.txt");
  write_text(late, "INFO: x\nWarning: late\nLUT for approximate multiplier:\n0 0 0\n");
  CHECK_THROWS_WITH_AS(read_date(late), doctest::Contains("late.txt:2"), error);
}

TEST_CASE("DATE'25 text: each kind of bad input is named with its file and line") {
  temp_dir dir;
  const auto bad = [&](const std::string& name, const std::string& content) {
    return write_text(dir.file(name), content);
  };
  const std::string body = u2_date_body();
  CHECK_ERROR(read_date(dir.file("absent.txt")), "cannot open");
  CHECK_ERROR(read_date(dir.file("absent.txt")), "absent.txt' for reading");
  CHECK_ERROR(read_date(bad("letters.txt", u2_date_body("nine"))),
              "letters.txt:17: value 'nine' is not a number");
  CHECK_ERROR(read_date(bad("fraction.txt", u2_date_body("9.5"))),
              "fraction.txt:17: value '9.5' is not an integer");
  CHECK(read_date(bad("numpy.txt", u2_date_body("9.0"))).lut(3, 3) == 9);
  CHECK_ERROR(read_date(bad("big.txt", u2_date_body("3000000000"))),
              "big.txt:17: value 3000000000 of the product section is out of range");
  // Truncated: the last line cut in the middle, or whole lines missing.
  CHECK_ERROR(read_date(bad("cut.txt", body.substr(0, body.size() - 3))),
              "cut.txt:17: expected 3 integers 'a b value', got 2 token(s)");
  CHECK_ERROR(read_date(bad("short.txt", body.substr(0, body.rfind("3 2 6")))),
              "short.txt: the product section (header on line 1) has 14 entries but a u2 table "
              "needs 16; missing (a, b) = (3, 2) (truncated file?)");
  CHECK_ERROR(read_date(bad("dup.txt", body + "1 2 2\n")),
              "dup.txt:18: duplicate entry for (a, b) = (1, 2) in the product section, first given on line 8");
  CHECK_ERROR(read_date(bad("wide.txt", body + "4 0 0\n")), "has 17 entries but a u3 table needs 64");
  CHECK_ERROR(read_date(bad("huge.txt", body + "300 0 0\n")), "operand values span [0, 300]");
  CHECK_ERROR(read_date(bad("noheader.txt", "0 0 0\n")),
              "noheader.txt:1: expected an INFO line or 'LUT for approximate multiplier:'");
  CHECK_ERROR(read_date(bad("empty.txt", "")), "empty.txt: no 'LUT for approximate multiplier:' line");
  CHECK_ERROR(read_date(bad("twice.txt", body + "LUT for approximate multiplier:\n")),
              "twice.txt:18: second 'the product section' header (first on line 1)");
  CHECK_ERROR(read_date(bad("lateinfo.txt", body + "INFO: late\n")),
              "lateinfo.txt:18: INFO lines must come before the tables");
  const std::string grad_a = "LUT for the gradient of the approximate multiplier w.r.t. the first operand:\n";
  std::string grads = body + grad_a;
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b) grads += std::to_string(a) + " " + std::to_string(b) + " 40000\n";
  CHECK_ERROR(read_date(bad("grad.txt", grads)),
              "grad.txt:19: value 40000 of the first-operand gradient section is out of range [-32768, 32767]");
  CHECK_ERROR(read_date(bad("gradshort.txt", body + grad_a + "0 0 1\n")),
              "the first-operand gradient section (header on line 18) has 1 entries");
  CHECK_ERROR(read_date(bad("order.txt", grad_a + body)),
              "order.txt:1: the first-operand gradient section must come right after the product section");
}

TEST_CASE("DATE'25 text: writer refuses inconsistent input") {
  temp_dir dir;
  date_table_file file{{}, product_table({4, false}), table<std::int16_t>({4, true}), {}};
  CHECK_ERROR(write_date(dir.file("x.txt"), file), "a gradient table is s4 but the product table is u4");
  CHECK_ERROR(write_date(dir.file("y.txt"), date_table_file{}), "the product table is empty");
  CHECK_ERROR(write_date(dir.file("no/such/dir/z.txt"), date_table_file{{}, product_table({2, false}), {}, {}}),
              "cannot open");
}

TEST_CASE("ApproxTorch matrix: round trip and layout") {
  temp_dir dir;
  hana::for_each(round_trip_operands, [&](auto t) {
    using Op = typename decltype(t)::type;
    CAPTURE(to_string(Op::format));
    const auto lut = random_table<std::int32_t>(Op::format, Op::is_signed ? -70000 : 0, 70000);
    for (const char* name : {"m.txt", "m.txt.gz"}) {
      write_approxtorch(dir.file(name), lut);
      CHECK(read_approxtorch(dir.file(name), Op::is_signed) == lut);
    }
  });
  // Offset order for signed tables: row 0 is a = -2, column 3 is b = 1.
  const product_table s2({2, true}, {4, 2, 0, -2, 2, 1, 0, -1, 0, 0, 0, 0, -2, -1, 0, 1});
  CHECK(to_approxtorch_text(s2) == "4 2 0 -2\n2 1 0 -1\n0 0 0 0\n-2 -1 0 1\n");
  write_approxtorch(dir.file("s2.txt"), s2);
  CHECK(read_approxtorch(dir.file("s2.txt")).format() == operand_format{2, true});  // inferred
  CHECK(read_approxtorch(dir.file("s2.txt"), false).format() == operand_format{2, false});
  // numpy.savetxt's default spelling of integers.
  std::string numpy_text;
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b)
      numpy_text += std::to_string(a * b) + ".000000000000000000e+00" + (b == 3 ? "\n" : " ");
  const product_table u2_exact({2, false}, {0, 0, 0, 0, 0, 1, 2, 3, 0, 2, 4, 6, 0, 3, 6, 9});
  CHECK(read_approxtorch(write_text(dir.file("np.txt"), numpy_text)) == u2_exact);
}

TEST_CASE("ApproxTorch matrix: bad inputs") {
  temp_dir dir;
  const auto bad = [&](const std::string& name, const std::string& content) {
    return write_text(dir.file(name), content);
  };
  CHECK_ERROR(read_approxtorch(dir.file("absent.txt")), "cannot open");
  CHECK_ERROR(read_approxtorch(bad("empty.txt", "\n\n")), "empty.txt: no rows (empty file)");
  CHECK_ERROR(read_approxtorch(bad("three.txt", "1 2 3\n")), "three.txt:1: the first row has 3 values");
  CHECK_ERROR(read_approxtorch(bad("ragged.txt", "0 0 0 0\n0 1 2 3\n0 2 4\n0 3 6 9\n")),
              "ragged.txt:3: row 2 has 3 values, expected 4");
  CHECK_ERROR(read_approxtorch(bad("word.txt", "0 0 0 0\n0 1 x 3\n0 2 4 6\n0 3 6 9\n")),
              "word.txt:2: entry 'x' is not a number");
  CHECK_ERROR(read_approxtorch(bad("short.txt", "0 0 0 0\n0 1 2 3\n")),
              "short.txt: 2 rows but the rows have 4 values; a square table needs 4 rows (truncated file?)");
  CHECK_ERROR(read_approxtorch(bad("long.txt", "0 0 0 0\n0 1 2 3\n0 2 4 6\n0 3 6 9\n1 1 1 1\n")),
              "long.txt:5: more than 4 rows");
  CHECK_ERROR(read_approxtorch(bad("big.txt", "0 0 0 0\n0 1 2 3\n0 2 4 6\n0 3 6 -9999999999\n")),
              "big.txt:4: entry -9999999999 in column 3 does not fit int32");
}

TEST_CASE("TFApprox binary: round trip, byte layout and bad inputs") {
  temp_dir dir;
  hana::for_each(round_trip_operands, [&](auto t) {
    using Op = typename decltype(t)::type;
    if constexpr (!Op::is_signed) {
      CAPTURE(to_string(Op::format));
      const auto lut = random_table<std::int32_t>(Op::format, 0, 65535);
      write_tfapprox(dir.file("t.bin"), lut);
      CHECK(amgrad::test::read_bytes(dir.file("t.bin")).size() == 2 * lut.size());
      CHECK(read_tfapprox(dir.file("t.bin"), Op::bits) == lut);
      CHECK(read_product_table(dir.file("t.bin"), table_format::tfapprox, false, Op::bits) == lut);
      if constexpr (Op::bits != 8)
        CHECK_ERROR(read_tfapprox(dir.file("t.bin")), ("pass bits = " + std::to_string(Op::bits)).c_str());
    }
  });
  product_table u2({2, false});
  u2(0, 1) = 0x1234;  // little-endian at byte offset 2
  u2(3, 3) = 0xFFFF;
  write_tfapprox(dir.file("u2.bin"), u2);
  const auto bytes = amgrad::test::read_bytes(dir.file("u2.bin"));
  REQUIRE(bytes.size() == 32);
  CHECK(bytes[2] == '\x34');
  CHECK(bytes[3] == '\x12');
  CHECK(bytes[30] == '\xFF');
  CHECK(bytes[31] == '\xFF');

  CHECK_ERROR(read_tfapprox(dir.file("absent.bin")), "cannot open");
  CHECK_ERROR(read_tfapprox(write_text(dir.file("cut.bin"), bytes.substr(0, 31)), 2),
              "cut.bin: 31 bytes; a TFApprox table is 4 x 4 uint16 = 32 bytes (truncated file?)");
  CHECK_ERROR(read_tfapprox(write_text(dir.file("cut.bin"), std::string(131071, '\1'))),
              "cut.bin: 131071 bytes; a TFApprox table is 256 x 256 uint16 = 131072 bytes (truncated file?)");
  CHECK_ERROR(read_tfapprox(write_text(dir.file("long.bin"), std::string(131074, '\1'))),
              "long.bin: more than 131072 bytes");
  CHECK_ERROR(read_tfapprox(dir.file("u2.bin"), 9), "bit width = 9 is out of range");
  product_table over({2, false});
  over(1, 2) = 65536;
  CHECK_ERROR(write_tfapprox(dir.file("o.bin"), over), "AM(1, 2) = 65536 does not fit uint16");
  over(1, 2) = -1;
  CHECK_ERROR(write_tfapprox(dir.file("o.bin"), over), "AM(1, 2) = -1 does not fit uint16");
  CHECK_ERROR(write_tfapprox(dir.file("s.bin"), product_table({4, true})),
              "TFApprox tables hold unsigned products only; this table is s4");
}

TEST_CASE("io: format detection and reading any format") {
  temp_dir dir;
  const auto lut = random_table<std::int32_t>({8, false}, 0, 65535);
  for (auto f : {table_format::date, table_format::approxtorch, table_format::tfapprox}) {
    CAPTURE(to_string(f));
    CHECK(parse_table_format(to_string(f)) == f);
    for (const std::string name : {"t", "t.gz"}) {
      write_product_table(dir.file(name), lut, f);
      CHECK(detect_format(dir.file(name)) == f);
      CHECK(read_product_table(dir.file(name)) == lut);
      CHECK(read_product_table(dir.file(name), f, false) == lut);
    }
  }
  CHECK_ERROR(parse_table_format("csv"), "unknown table format 'csv'");
  CHECK_ERROR(detect_format(write_text(dir.file("empty"), "")), "the file is empty");
  write_product_table(dir.file("d"), lut, table_format::date);
  CHECK_ERROR(read_product_table(dir.file("d"), std::nullopt, true), "the operands are u8, not signed");
  write_product_table(dir.file("b"), lut, table_format::tfapprox);
  CHECK_ERROR(read_product_table(dir.file("b"), std::nullopt, true), "unsigned operands only");
  // The format given by the caller wins over detection, and is then checked by its reader.
  CHECK_ERROR(read_product_table(dir.file("d"), table_format::approxtorch), "is not a number");
}

// ---- Damaged and hostile files (issue 9) ----------------------------------------------------

namespace {

product_table exact_u8() {
  product_table t({8, false});
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; ++b) t(a, b) = a * b;
  return t;
}

std::string repeated(const std::string& piece, std::size_t count) {
  std::string out;
  out.reserve(piece.size() * count);
  for (std::size_t i = 0; i < count; ++i) out += piece;
  return out;
}

// Writes `text` gzip-compressed (the library's own writer) and returns the path.
std::string write_gz(const temp_dir& dir, const std::string& name, const std::string& text) {
  const auto path = dir.file(name);
  amgrad::detail::write_all(path, text, "test");
  return path;
}

}  // namespace

TEST_CASE("gzip: a stream that ends before the gzip trailer is an error, for every cut of 1..13 bytes") {
  temp_dir dir;
  const auto lut = exact_u8();
  for (auto f : {table_format::date, table_format::approxtorch, table_format::tfapprox}) {
    CAPTURE(to_string(f));
    const auto whole = dir.file(std::string("whole.gz"));
    write_product_table(whole, lut, f);
    const auto bytes = amgrad::test::read_bytes(whole);
    REQUIRE(read_product_table(whole, f) == lut);
    for (std::size_t cut = 1; cut <= 13; ++cut) {
      CAPTURE(cut);
      const auto path = write_text(dir.file("cut.gz"), bytes.substr(0, bytes.size() - cut));
      CHECK_ERROR(read_product_table(path, f),
                  "cut.gz: unexpected end of file: the compressed data ends before the gzip trailer");
    }
  }
  // Through detection too, and whatever the cut: a stream without its trailer is an error.
  const auto bytes_u8 = amgrad::test::read_bytes(dir.file("whole.gz"));  // the TFApprox one
  for (std::size_t cut : {std::size_t{1}, std::size_t{8}, std::size_t{9}, std::size_t{100}})
    CHECK_ERROR(read_product_table(write_text(dir.file("c.gz"), bytes_u8.substr(0, bytes_u8.size() - cut))),
                "(truncated file?)");
  // The case of the issue: the DATE u8 exact table cut by 12 bytes read as WCE 65019.
  write_date(dir.file("d.txt.gz"), date_table_file{{}, lut, {}, {}});
  const auto bytes = amgrad::test::read_bytes(dir.file("d.txt.gz"));
  CHECK_ERROR(read_date(write_text(dir.file("d12.txt.gz"), bytes.substr(0, bytes.size() - 12))),
              "d12.txt.gz: unexpected end of file: the compressed data ends before the gzip trailer");
}

TEST_CASE("hostile files: DATE'25 reading stops at the first entry beyond 4^B") {
  temp_dir dir;
  const std::string header = "LUT for approximate multiplier:\n";
  const std::string zeros = repeated("0 0 0\n", 1000000);
  // 1e6 entries: the reader stops on line 65538, the 65537th entry (a structural bound: it never
  // holds more than a u8 section).
  CHECK_ERROR(read_date(write_gz(dir, "zeros.txt.gz", header + zeros)),
              "zeros.txt.gz:65538: the product section has more than 65536 entries, more than a "
              "table of 8 bits holds");
  // The declared width lowers the bound: QUANTIZATION_BIT, or the caller's format.
  CHECK_ERROR(read_date(write_gz(dir, "q2.txt.gz", "INFO: QUANTIZATION_BIT=2\n" + header + zeros)),
              "q2.txt.gz:19: the product section has more than 16 entries, more than a table of 2 bits");
  CHECK_ERROR(read_date(write_gz(dir, "f4.txt.gz", header + zeros), operand_format{4, false}),
              "f4.txt.gz:258: the product section has more than 256 entries");
  const std::string grad_a =
      "LUT for the gradient of the approximate multiplier w.r.t. the first operand:\n";
  CHECK_ERROR(read_date(write_gz(dir, "g.txt.gz", "INFO: QUANTIZATION_BIT=2\n" + u2_date_body() + grad_a + zeros)),
              "g.txt.gz:36: the first-operand gradient section has more than 16 entries");
  // A line with more tokens than a row has, and a line longer than any valid line.
  CHECK_ERROR(read_date(write_gz(dir, "tokens.txt.gz", header + repeated("0 ", 1000) + "\n")),
              "tokens.txt.gz:2: expected 3 integers 'a b value', got more than 3 tokens");
  CHECK_ERROR(read_date(write_gz(dir, "long.txt.gz", header + std::string(10000000, '7'))),
              "long.txt.gz:2: the line is longer than 65536 bytes");
  // INFO lines are bounded too, and so is the whole text (a flood of blank lines).
  CHECK_ERROR(read_date(write_gz(dir, "info.txt.gz", repeated("INFO: x\n", 1000000))),
              "info.txt.gz:8193: the INFO lines hold more than 65536 bytes");
  CHECK_ERROR(read_date(write_gz(dir, "blank.txt.gz", header + std::string(40u << 20, '\n'))),
              "blank.txt.gz: more than 33554432 bytes of text, more than any valid table file");
}

TEST_CASE("hostile files: ApproxTorch and TFApprox reading stop beyond the largest table") {
  temp_dir dir;
  CHECK_ERROR(read_approxtorch(write_gz(dir, "wide.txt.gz", repeated("0 ", 10000) + "\n")),
              "wide.txt.gz:1: the first row has more than 256 values");
  CHECK_ERROR(read_approxtorch(write_gz(dir, "row.txt.gz", "0 0 0 0\n" + repeated("1 ", 10000) + "\n")),
              "row.txt.gz:2: row 1 has more than 4 values");
  CHECK_ERROR(read_approxtorch(write_gz(dir, "line.txt.gz", repeated("0 ", 1000000) + "\n")),
              "line.txt.gz:1: the line is longer than 65536 bytes");
  CHECK_ERROR(read_approxtorch(write_gz(dir, "rows.txt.gz", repeated("0 0 0 0\n", 1000000))),
              "rows.txt.gz:5: more than 4 rows");
  CHECK_ERROR(read_tfapprox(write_gz(dir, "big.bin.gz", std::string(10000000, '\0'))),
              "big.bin.gz: more than 131072 bytes");
}

TEST_CASE("TFApprox: the width is 8 bits unless the caller says otherwise") {
  temp_dir dir;
  const auto bytes = to_tfapprox_bytes(exact_u8());
  const auto cut = write_text(dir.file("cut.bin"), bytes.substr(0, 32768));
  CHECK_ERROR(read_tfapprox(cut), "cut.bin: 32768 bytes; a TFApprox table is 256 x 256 uint16");
  CHECK_ERROR(read_product_table(cut), "32768 bytes");
  CHECK_ERROR(read_product_table(cut, table_format::tfapprox), "32768 bytes");
  // Said explicitly, the width is the caller's; the file must then have exactly that size.
  CHECK(read_tfapprox(cut, 7).format() == operand_format{7, false});
  CHECK(read_product_table(cut, table_format::tfapprox, false, 7).format() == operand_format{7, false});
  CHECK_ERROR(read_tfapprox(cut, 6), "more than 8192 bytes");
  CHECK_ERROR(read_product_table(cut, table_format::tfapprox, std::nullopt, 1), "bit width = 1 is out of range");
  // Where the file says the width, an explicit one must agree with it.
  write_product_table(dir.file("d.txt"), exact_u8(), table_format::date);
  CHECK_ERROR(read_product_table(dir.file("d.txt"), std::nullopt, std::nullopt, 7), "the operands are u8, not 7 bits wide");
}

TEST_CASE("integers: decimal only, range-checked, locale-independent (std::from_chars)") {
  temp_dir dir;
  const auto value = [&](const std::string& token) {
    return read_date(write_text(dir.file("v.txt"), u2_date_body(token))).lut(3, 3);
  };
  CHECK(value("9") == 9);
  CHECK(value("+9") == 9);  // one leading '+' is accepted
  CHECK(value("9.0") == 9);
  CHECK(value("9.000000000000000000e+00") == 9);
  for (const char* bad : {"+-9", "++9", "-+9", "0x9", "0X9", "0x1.2p3", "inf", "nan", "+", "-", "9,0"}) {
    CAPTURE(bad);
    CHECK_ERROR(value(bad), "is not a number");
  }
  CHECK_ERROR(value("99999999999999999999"), "is out of range");
  CHECK_ERROR(value("1e400"), "is out of range");
  CHECK_ERROR(read_date(write_text(dir.file("q.txt"), "INFO: QUANTIZATION_BIT=4294967298\n" + u2_date_body())),
              "QUANTIZATION_BIT=4294967298 is out of range [2, 8]");
  CHECK_ERROR(read_approxtorch(write_text(dir.file("a.txt"), "0 0 0 0\n0 1 2 3\n0 2 4 6\n0 3 6 +-9\n")),
              "a.txt:4: entry '+-9' is not a number");
  CHECK_ERROR(read_approxtorch(write_text(dir.file("h.txt"), "0 0 0 0\n0 1 2 3\n0 2 4 6\n0 3 6 0x9\n")),
              "h.txt:4: entry '0x9' is not a number");
}

TEST_CASE("io: an explicit format skips detection") {
  temp_dir dir;
  const auto empty = write_text(dir.file("empty.txt"), "");
  const std::string message = "amgrad::read_approxtorch: " + empty + ": no rows (empty file)";
  CHECK_ERROR(read_product_table(empty, table_format::approxtorch), message.c_str());
  CHECK_ERROR(read_product_table(empty, table_format::date), "amgrad::read_date");
  CHECK_ERROR(read_product_table(empty, table_format::tfapprox), "amgrad::read_tfapprox");
}

TEST_CASE("DATE'25 text: an INFO line read back after writing is the same line (fuzz: CR at its end)") {
  // Found by fuzz_date_text: "INFO: x\r\r\n" was read as "x\r", written as "INFO: x\r\n" and read
  // back as "x". A carriage return at the end of an INFO line is part of the line ending.
  temp_dir dir;
  const auto path = write_text(dir.file("cr.txt"), "INFO: x\r\r\nINFO: a\rb \r\n" + u2_date_body());
  const auto file = read_date(path);
  CHECK(file.info == std::vector<std::string>{"x", "a\rb "});
  write_date(dir.file("again.txt"), file);
  CHECK(read_date(dir.file("again.txt")).info == file.info);
  date_table_file bad = file;
  bad.info = {"y\r"};
  CHECK_ERROR(write_date(dir.file("bad.txt"), bad), "an INFO line ends in a carriage return");
}

TEST_CASE("gzip: members, damaged data and trailing bytes") {
  temp_dir dir;
  const std::string body = u2_date_body();
  const auto half = body.size() / 2;
  const auto first = amgrad::test::read_bytes(write_gz(dir, "a.gz", body.substr(0, half)));
  const auto second = amgrad::test::read_bytes(write_gz(dir, "b.gz", body.substr(half)));
  // Concatenated members are one stream, as gzip(1) reads them.
  CHECK(read_date(write_text(dir.file("ab.gz"), first + second)).lut == read_date(write_text(dir.file("p.txt"), body)).lut);
  // Anything else after a member is an error, not silently ignored (gzread ignores it).
  CHECK_ERROR(read_date(write_text(dir.file("junk.gz"), first + second + "junk")),
              "junk.gz: unexpected data after the gzip stream, at compressed byte offset");
  CHECK_ERROR(read_date(write_text(dir.file("one.gz"), first + second + "\x1f")),
              "one.gz: unexpected data after the gzip stream");
  // A damaged stream: the CRC-32 in the trailer no longer matches.
  std::string damaged = first + second;
  damaged[damaged.size() - 6] = static_cast<char>(damaged[damaged.size() - 6] ^ 0x01);
  CHECK_ERROR(read_date(write_text(dir.file("crc.gz"), damaged)), "crc.gz: damaged gzip data");
  // The gzip magic alone, and a header cut short.
  CHECK_ERROR(read_date(write_text(dir.file("magic.gz"), "\x1f\x8b")), "(truncated file?)");
  CHECK_ERROR(detect_format(write_text(dir.file("head.gz"), first.substr(0, 6))), "(truncated file?)");
}
