#pragma once
// ApproxTorch's LUT text format: a 2^B x 2^B whitespace-separated integer matrix, row a,
// column b, one row per line. Signed tables are in offset order (row index = a + 2^(B-1)),
// which is amgrad's code order, so rows and columns map straight onto codes.
//
// The file says neither B nor the signedness. B follows from the size (the matrix must be
// square with a side of 2^B, 2 <= B <= 8). Signedness is the caller's `is_signed`; when not
// given, a table holding a negative entry is read as signed and any other as unsigned (a
// documented guess: pass it explicitly for a signed design whose products are all >= 0).
// Integral numpy spellings ("12.0", "1.2e+01") are accepted, hex is not, one leading '+' is
// (detail::parse_integer); blank lines are ignored. The reading stops at the first line with
// more values than a row has, or the first row beyond the side.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/table/table.hpp"
#include "amgrad/table/text_file.hpp"

namespace amgrad {

inline product_table read_approxtorch(const std::string& path,
                                      std::optional<bool> is_signed = std::nullopt) {
  constexpr const char* where = "amgrad::read_approxtorch";
  constexpr std::size_t max_side = std::size_t{1} << max_bits;
  detail::line_reader reader(path, where);
  std::vector<std::int32_t> values;
  std::size_t side = 0, rows = 0;
  std::string line;
  while (reader.next(line)) {
    if (detail::is_blank(line)) continue;
    const auto pos = reader.position();
    // At most one token more than a row may have: a longer line is rejected unsplit.
    const auto tokens = detail::split_whitespace(line, (rows == 0 ? max_side : side) + 1);
    if (rows == 0) {
      amgrad::require(tokens.size() <= max_side, where, pos, ": the first row has more than ",
                      max_side, " values; a 2^B x 2^B table needs 2^B of them with ", min_bits,
                      " <= B <= ", max_bits);
      side = tokens.size();
      bool valid_side = false;
      for (int bits = min_bits; bits <= max_bits; ++bits) valid_side |= side == (1u << bits);
      amgrad::require(valid_side, where, pos, ": the first row has ", side,
                      " values; a 2^B x 2^B table needs 2^B of them with ", min_bits,
                      " <= B <= ", max_bits);
      values.reserve(side * side);
    }
    amgrad::require(rows < side, where, pos, ": more than ", side, " rows in a ", side, "x", side,
                    " table");
    amgrad::require(tokens.size() <= side, where, pos, ": row ", rows, " has more than ", side,
                    " values, expected ", side);
    amgrad::require(tokens.size() == side, where, pos, ": row ", rows, " has ", tokens.size(),
                    " values, expected ", side);
    for (std::size_t c = 0; c < side; ++c) {
      const std::int64_t v = detail::parse_integer(tokens[c], pos, where, "entry");
      amgrad::require(v >= std::numeric_limits<std::int32_t>::min() &&
                          v <= std::numeric_limits<std::int32_t>::max(),
                      where, pos, ": entry ", v, " in column ", c, " does not fit int32");
      values.push_back(static_cast<std::int32_t>(v));
    }
    ++rows;
  }
  amgrad::require(rows != 0, where, path, ": no rows (empty file)");
  amgrad::require(rows == side, where, path, ": ", rows, " rows but the rows have ", side,
                  " values; a square table needs ", side, " rows (truncated file?)");
  bool any_negative = false;
  for (auto v : values) any_negative |= v < 0;
  int bits = 0;
  while ((std::size_t{1} << bits) < side) ++bits;
  return product_table(operand_format{bits, is_signed.value_or(any_negative)}, std::move(values));
}

inline std::string to_approxtorch_text(const product_table& lut) {
  amgrad::require(!lut.empty(), "amgrad::write_approxtorch", "the table is empty");
  std::string out;
  out.reserve(lut.size() * 8);
  for (int a = 0; a < lut.side(); ++a)
    for (int b = 0; b < lut.side(); ++b) {
      detail::append_integer(out, lut(a, b));
      out += b + 1 == lut.side() ? '\n' : ' ';
    }
  return out;
}

// Writes the matrix; gzip-compressed when `path` ends in ".gz".
inline void write_approxtorch(const std::string& path, const product_table& lut) {
  detail::write_all(path, to_approxtorch_text(lut), "amgrad::write_approxtorch");
}

}  // namespace amgrad
