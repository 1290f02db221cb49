#pragma once
// TFApprox's binary LUT: 256 x 256 little-endian uint16, row a, column b, nothing else
// (131072 bytes): TFApprox itself uses 8-bit unsigned operands only. The byte count is never
// used to infer the width: a file of any other size is an error (a cut 8-bit file would
// otherwise load as a narrower table), unless the caller gives the width `bits` explicitly,
// and then the file must be exactly 2 * 4^bits bytes. We write any unsigned width 2..8 and
// refuse signed tables, whose negative products uint16 cannot hold. Products above 65535
// cannot be written either: amgrad::error. Reading never holds more than the expected size.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/table/table.hpp"
#include "amgrad/table/text_file.hpp"

namespace amgrad {

inline product_table read_tfapprox(const std::string& path, std::optional<int> bits = std::nullopt) {
  constexpr const char* where = "amgrad::read_tfapprox";
  if (bits) detail::require_in_range(where, "bit width", *bits, min_bits, max_bits);
  const operand_format f{bits.value_or(max_bits), false};
  const std::size_t expected = 2 * static_cast<std::size_t>(f.size()) * f.size();
  const std::string bytes = detail::read_all(path, where, expected);
  if (bytes.size() != expected) {
    std::string hint;
    for (int b = min_bits; b <= max_bits; ++b)
      if (!bits && bytes.size() == (std::size_t{2} << (2 * b)))
        hint = amgrad::concat("; ", bytes.size(), " bytes would be a u", b,
                              " table: pass bits = ", b, " if that is what it is");
    amgrad::fail(where, path, ": ", bytes.size(), " bytes; a TFApprox table is ", f.size(), " x ",
                 f.size(), " uint16 = ", expected, " bytes", hint,
                 bytes.size() < expected ? " (truncated file?)" : "");
  }
  std::vector<std::int32_t> values(bytes.size() / 2);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<std::int32_t>(static_cast<unsigned char>(bytes[2 * i]) |
                                          (static_cast<unsigned char>(bytes[2 * i + 1]) << 8));
  return product_table(f, std::move(values));
}

inline std::string to_tfapprox_bytes(const product_table& lut) {
  constexpr const char* where = "amgrad::write_tfapprox";
  amgrad::require(!lut.empty(), where, "the table is empty");
  const operand_format f = lut.format();
  amgrad::require(!f.is_signed, where, "TFApprox tables hold unsigned products only; this table is ",
                  to_string(f));
  std::string out(lut.size() * 2, '\0');
  for (int a = 0; a < f.size(); ++a)
    for (int b = 0; b < f.size(); ++b) {
      const std::int32_t v = lut(a, b);
      amgrad::require(v >= 0 && v <= 0xFFFF, where, "AM(", f.value(a), ", ", f.value(b), ") = ", v,
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
