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
  CHECK_ERROR(read_date(narrow), "QUANTIZATION_BIT=1 disagrees");
  // An explicit format overrides the inference (and then the operands must fit it).
  CHECK_ERROR(read_date(path, operand_format{2, true}), "u2.txt:4: operand pair (0, 2) is outside the s2 range");
  CHECK_ERROR(read_date(path, operand_format{9, false}), "bit width = 9 is out of range");
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
      CHECK(read_tfapprox(dir.file("t.bin")) == lut);
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
  CHECK_ERROR(read_tfapprox(write_text(dir.file("cut.bin"), bytes.substr(0, 31))),
              "cut.bin: 31 bytes is not the size of a 2^B x 2^B uint16 table");
  CHECK_ERROR(read_tfapprox(write_text(dir.file("cut.bin"), std::string(131071, '\1'))),
              "the data ends at byte offset 131071 before the next valid size 131072 (truncated file?)");
  CHECK_ERROR(read_tfapprox(write_text(dir.file("long.bin"), std::string(131074, '\1'))),
              "131074 bytes is not the size");
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
