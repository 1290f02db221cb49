#pragma once
// TFApprox's binary LUT: 2^B x 2^B little-endian uint16, row a, column b, nothing else.
// TFApprox itself uses 8-bit unsigned operands only (131072 bytes). We read and write any
// unsigned width 2..8 (the byte count 2 * 4^B gives B) and refuse signed tables, whose negative
// products uint16 cannot hold. Products above 65535 cannot be written either: amgrad::error.
#include <cstdint>
#include <string>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/table/table.hpp"
#include "amgrad/table/text_file.hpp"

namespace amgrad {

inline product_table read_tfapprox(const std::string& path) {
  constexpr const char* where = "amgrad::read_tfapprox";
  const std::string bytes = detail::read_all(path, where);
  int bits = 0;
  for (int b = min_bits; b <= max_bits; ++b)
    if (bytes.size() == (std::size_t{2} << (2 * b))) bits = b;
  if (bits == 0) {
    std::size_t larger = 0;  // the smallest valid size above this one, if any
    for (int b = max_bits; b >= min_bits; --b)
      if ((std::size_t{2} << (2 * b)) > bytes.size()) larger = std::size_t{2} << (2 * b);
    detail::fail(where, path, ": ", bytes.size(), " bytes is not the size of a 2^B x 2^B uint16 "
                 "table (2 * 4^B bytes, 131072 for 8 bits)",
                 larger != 0 ? detail::concat("; the data ends at byte offset ", bytes.size(),
                                              " before the next valid size ", larger,
                                              " (truncated file?)")
                             : std::string{});
  }
  const operand_format f{bits, false};
  std::vector<std::int32_t> values(bytes.size() / 2);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<std::int32_t>(static_cast<unsigned char>(bytes[2 * i]) |
                                          (static_cast<unsigned char>(bytes[2 * i + 1]) << 8));
  return product_table(f, std::move(values));
}

inline std::string to_tfapprox_bytes(const product_table& lut) {
  constexpr const char* where = "amgrad::write_tfapprox";
  detail::require(!lut.empty(), where, "the table is empty");
  const operand_format f = lut.format();
  detail::require(!f.is_signed, where, "TFApprox tables hold unsigned products only; this table is ",
                  to_string(f));
  std::string out(lut.size() * 2, '\0');
  for (int a = 0; a < f.size(); ++a)
    for (int b = 0; b < f.size(); ++b) {
      const std::int32_t v = lut(a, b);
      detail::require(v >= 0 && v <= 0xFFFF, where, "AM(", f.value(a), ", ", f.value(b), ") = ", v,
                      " does not fit uint16");
      const auto i = 2 * (static_cast<std::size_t>(a) * f.size() + b);
      out[i] = static_cast<char>(v & 0xFF);
      out[i + 1] = static_cast<char>((v >> 8) & 0xFF);
    }
  return out;
}

// Writes the binary table; gzip-compressed when `path` ends in ".gz" (TFApprox itself reads
// only the raw form).
inline void write_tfapprox(const std::string& path, const product_table& lut) {
  detail::write_all(path, to_tfapprox_bytes(lut), "amgrad::write_tfapprox");
}

}  // namespace amgrad
