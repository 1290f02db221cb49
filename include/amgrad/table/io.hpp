#pragma once
// Table files in the three formats the community uses, behind one entry point.
//   date         DATE'25 text (format_date.hpp): product table, optional gradient sections
//   approxtorch  ApproxTorch whitespace matrix (format_approxtorch.hpp)
//   tfapprox     TFApprox binary uint16 (format_tfapprox.hpp)
// detect_format looks at the (decompressed) content, not the name: bytes outside printable
// ASCII mean TFApprox's binary; text starting with "INFO:" or "LUT for" (after a synthesis
// tool's "Warning"/"$" lines, if any) means DATE'25; any other text is an ApproxTorch matrix.
#include <optional>
#include <string>
#include <string_view>

#include "amgrad/error.hpp"
#include "amgrad/table/format_approxtorch.hpp"
#include "amgrad/table/format_date.hpp"
#include "amgrad/table/format_tfapprox.hpp"
#include "amgrad/table/table.hpp"
#include "amgrad/table/text_file.hpp"

namespace amgrad {

enum class table_format { date, approxtorch, tfapprox };

inline const char* to_string(table_format f) {
  switch (f) {
    case table_format::date: return "date";
    case table_format::approxtorch: return "approxtorch";
    case table_format::tfapprox: return "tfapprox";
  }
  return "?";
}

inline table_format parse_table_format(std::string_view name) {
  for (auto f : {table_format::date, table_format::approxtorch, table_format::tfapprox})
    if (name == to_string(f)) return f;
  amgrad::fail("amgrad::parse_table_format", "unknown table format '", name,
               "' (expected date, approxtorch or tfapprox)");
}

inline table_format detect_format(const std::string& path) {
  constexpr const char* where = "amgrad::detect_format";
  detail::input_file file(path, where);
  char buffer[4096];
  const std::size_t n = file.read(buffer, sizeof buffer);
  amgrad::require(n > 0, where, path, ": the file is empty");
  const std::string_view head(buffer, n);
  for (char c : head) {
    const auto u = static_cast<unsigned char>(c);
    const bool text = (u >= 0x20 && u < 0x7F) || c == '\n' || c == '\r' || c == '\t';
    if (!text) return table_format::tfapprox;
  }
  // The first line that is not blank and not a synthesis tool's preamble decides.
  std::string_view rest = head;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    line.remove_prefix(first);
    if (line.rfind("INFO:", 0) == 0 || line.rfind("LUT for", 0) == 0) return table_format::date;
    if (!detail::is_tool_preamble(line)) break;
  }
  return table_format::approxtorch;
}

// Reads the product table of any format. `format` skips detection (detection runs only when
// it is not given). `is_signed` and `bits` say the signedness and the width where the file
// cannot: ApproxTorch files do not say the signedness, and TFApprox files are 8-bit unless
// `bits` says otherwise (read_tfapprox). Where the file does say them (DATE'25; the width of an
// ApproxTorch matrix; TFApprox is always unsigned) they must agree with the file.
inline product_table read_product_table(const std::string& path,
                                        std::optional<table_format> format = std::nullopt,
                                        std::optional<bool> is_signed = std::nullopt,
                                        std::optional<int> bits = std::nullopt) {
  constexpr const char* where = "amgrad::read_product_table";
  if (bits) detail::require_in_range(where, "bit width", *bits, min_bits, max_bits);
  const auto agree = [&](const product_table& lut) {
    const operand_format f = lut.format();
    if (is_signed && *is_signed != f.is_signed)
      amgrad::fail(where, path, ": the operands are ", to_string(f), ", not ",
                   *is_signed ? "signed" : "unsigned");
    if (bits && *bits != f.bits)
      amgrad::fail(where, path, ": the operands are ", to_string(f), ", not ", *bits, " bits wide");
  };
  switch (format ? *format : detect_format(path)) {
    case table_format::date: {
      auto lut = read_date(path).lut;
      agree(lut);
      return lut;
    }
    case table_format::approxtorch: {
      auto lut = read_approxtorch(path, is_signed);
      agree(lut);
      return lut;
    }
    case table_format::tfapprox:
      amgrad::require(!is_signed || !*is_signed, where, path,
                      ": TFApprox tables hold unsigned operands only");
      return read_tfapprox(path, bits);
  }
  amgrad::fail(where, "unknown table format");
}

// Writes a product table; DATE'25 files get no INFO lines and no gradient sections.
inline void write_product_table(const std::string& path, const product_table& lut,
                                table_format format) {
  switch (format) {
    case table_format::date: return write_date(path, date_table_file{{}, lut, {}, {}});
    case table_format::approxtorch: return write_approxtorch(path, lut);
    case table_format::tfapprox: return write_tfapprox(path, lut);
  }
}

}  // namespace amgrad
