#pragma once
// The DATE'25 text format (changmg/AppMult-Aware-Retraining, app_mults/*.txt), gzip or plain:
//
//   INFO: ...                                   (any number, optional)
//   LUT for approximate multiplier:
//   a b AM(a,b)                                 (2^(2B) lines, a-major, b-minor, by value)
//   LUT for the gradient of the approximate multiplier w.r.t. the first operand:
//   a b round(16 * dAM/da)                      (optional section)
//   LUT for the gradient of the approximate multiplier w.r.t. the second operand:
//   a b round(16 * dAM/db)                      (optional section)
//
// a and b are operand *values*. Reading checks every (a, b) appears exactly once in each
// section, that all tokens are integers and that values fit their storage. Blank lines are
// ignored. Integers are decimal (detail::parse_integer: one leading '+' is accepted, no hex,
// numpy's integral float spellings are). The reading is bounded: see read_date.
//
// The operand format comes from, in order: the caller; otherwise the entries themselves (a
// negative operand means signed, B is the width whose range the operands span), cross-checked
// against `QUANTIZATION_BIT=<B>` when an INFO line states it.
// Writing reproduces the published layout byte for byte: the same header lines, one "a b v"
// line per entry with single spaces, '\n' line ends, a-major order.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/operand.hpp"
#include "amgrad/table/table.hpp"
#include "amgrad/table/text_file.hpp"

namespace amgrad {

struct date_table_file {
  std::vector<std::string> info;  // the INFO lines, without the leading "INFO: "
  product_table lut;
  std::optional<table<std::int16_t>> grad_a_x16;  // round(16 dAM/da), [a][b] by code
  std::optional<table<std::int16_t>> grad_b_x16;  // round(16 dAM/db)
};

namespace detail {

inline constexpr std::string_view date_product_header = "LUT for approximate multiplier:";
inline constexpr std::string_view date_grad_a_header =
    "LUT for the gradient of the approximate multiplier w.r.t. the first operand:";
inline constexpr std::string_view date_grad_b_header =
    "LUT for the gradient of the approximate multiplier w.r.t. the second operand:";
inline constexpr const char* date_where = "amgrad::read_date";
// The published files have five short INFO lines; this bounds what a hostile file can add.
inline constexpr std::size_t date_max_info_bytes = std::size_t{1} << 16;

struct date_entry {
  std::int64_t a, b, value;
  long line;
};

struct date_section {
  const char* name;
  long header_line = 0;
  std::vector<date_entry> entries;
};

// `QUANTIZATION_BIT=<B>` in the INFO lines, if any; a value outside [min_bits, max_bits] is an
// error (it is compared as a 64-bit integer, never narrowed).
inline std::optional<int> date_quantization_bits(const std::vector<std::string>& info,
                                                 const std::string& path) {
  constexpr std::string_view key = "QUANTIZATION_BIT=";
  for (const auto& line : info) {
    const auto at = line.find(key);
    if (at == std::string::npos) continue;
    const auto start = at + key.size();
    auto stop = line.find_first_of(", \t", start);
    if (stop == std::string::npos) stop = line.size();
    const auto bits = parse_integer(std::string_view(line).substr(start, stop - start),
                                    concat(path, " (INFO)"), date_where, "QUANTIZATION_BIT");
    require(bits >= min_bits && bits <= max_bits, date_where, path, " (INFO): QUANTIZATION_BIT=",
            bits, " is out of range [", min_bits, ", ", max_bits, "]");
    return static_cast<int>(bits);
  }
  return std::nullopt;
}

// The narrowest operand format whose value range holds every operand in `entries`.
inline operand_format date_infer_format(const std::vector<date_entry>& entries,
                                        const std::string& path) {
  require(!entries.empty(), date_where, path, ": the product section has no entries");
  std::int64_t lo = 0, hi = 0;
  for (const auto& e : entries) {
    lo = std::min({lo, e.a, e.b});
    hi = std::max({hi, e.a, e.b});
  }
  operand_format f{max_bits, lo < 0};
  for (int bits = min_bits; bits <= max_bits; ++bits) {
    const operand_format candidate{bits, lo < 0};
    if (lo >= candidate.min_value() && hi <= candidate.max_value()) return candidate;
  }
  fail(date_where, path, ": operand values span [", lo, ", ", hi, "], wider than any ",
       f.is_signed ? "signed" : "unsigned", " format of at most ", max_bits, " bits");
}

// Places the entries of one section into a table, checking range, duplicates and coverage.
template <class T>
table<T> date_fill(const date_section& section, operand_format f, const std::string& path) {
  const int n = f.size();
  table<T> out(f);
  std::vector<long> seen_at(static_cast<std::size_t>(n) * n, 0);
  for (const auto& e : section.entries) {
    const line_position where_line{&path, e.line};
    if (e.a < f.min_value() || e.a > f.max_value() || e.b < f.min_value() || e.b > f.max_value())
      fail(date_where, where_line, ": operand pair (", e.a, ", ", e.b, ") is outside the ",
           to_string(f), " range [", f.min_value(), ", ", f.max_value(), "]");
    require(e.value >= std::numeric_limits<T>::min() && e.value <= std::numeric_limits<T>::max(),
            date_where, where_line, ": value ", e.value, " of ", section.name,
            " is out of range [", std::numeric_limits<T>::min(), ", ",
            std::numeric_limits<T>::max(), "]");
    const int a = f.code(static_cast<int>(e.a)), b = f.code(static_cast<int>(e.b));
    long& seen = seen_at[static_cast<std::size_t>(a) * n + b];
    require(seen == 0, date_where, where_line, ": duplicate entry for (a, b) = (", e.a, ", ", e.b,
            ") in ", section.name, ", first given on line ", seen);
    seen = e.line;
    out(a, b) = static_cast<T>(e.value);
  }
  if (section.entries.size() != seen_at.size()) {
    std::size_t first_missing = 0;
    while (seen_at[first_missing] != 0) ++first_missing;
    fail(date_where, path, ": ", section.name, " (header on line ", section.header_line, ") has ",
         section.entries.size(), " entries but a ", to_string(f), " table needs ", seen_at.size(),
         "; missing (a, b) = (", f.value(static_cast<int>(first_missing) / n), ", ",
         f.value(static_cast<int>(first_missing) % n), ")",
         section.entries.size() < seen_at.size() ? " (truncated file?)" : "");
  }
  return out;
}

template <class T>
void append_date_section(std::string& out, std::string_view header, const table<T>& t) {
  const operand_format f = t.format();
  out.append(header);
  out += '\n';
  for (int a = 0; a < f.size(); ++a)
    for (int b = 0; b < f.size(); ++b) {
      append_integer(out, f.value(a));
      out += ' ';
      append_integer(out, f.value(b));
      out += ' ';
      append_integer(out, t(a, b));
      out += '\n';
    }
}

// The DATE'25 authors' tables simulated from netlists start with their synthesis tool's output
// ("Warning: Constant-0 drivers added ...", "$false", "Hierarchy reader flattened ...") before
// the INFO lines: text lines, never table rows (which start with a digit or a sign). Such lines
// are skipped only before any INFO line or table, within the INFO byte budget.
inline bool is_tool_preamble(std::string_view line) {
  if (line.empty() || line.rfind("INFO:", 0) == 0 || line.rfind("LUT for", 0) == 0) return false;
  const auto c = static_cast<unsigned char>(line.front());
  return c == '$' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

}  // namespace detail

// Reads a DATE'25 table file (gzip or plain). `format`, when given, overrides the inference.
// The reading stops at the first entry beyond 4^B in a section, where B is the caller's width,
// else QUANTIZATION_BIT, else max_bits; INFO lines may hold at most date_max_info_bytes.
inline date_table_file read_date(const std::string& path,
                                 std::optional<operand_format> format = std::nullopt) {
  using namespace detail;
  if (format) format->validate(date_where);
  line_reader reader(path, date_where);
  date_table_file out;
  date_section product{"the product section", 0, {}},
      grad_a{"the first-operand gradient section", 0, {}},
      grad_b{"the second-operand gradient section", 0, {}};
  date_section* current = nullptr;
  std::optional<int> declared_bits;  // QUANTIZATION_BIT, read with the first section header
  int bound_bits = max_bits;         // the widest table the file may hold
  std::size_t max_entries = 0;       // per section: 4^bound_bits
  std::size_t info_bytes = 0;
  std::string line;
  while (reader.next(line)) {
    const std::string_view text(line);
    if (is_blank(text)) continue;
    const auto header = [&](date_section& s, bool allowed, const char* after) {
      require(s.header_line == 0, date_where, reader.position(), ": second '", s.name,
              "' header (first on line ", s.header_line, ")");
      require(allowed, date_where, reader.position(), ": ", s.name, " must come ", after);
      if (current == nullptr) {  // the INFO lines are complete: fix the bound on the entries
        if (!format) declared_bits = date_quantization_bits(out.info, path);
        bound_bits = format ? format->bits : declared_bits.value_or(max_bits);
        max_entries = std::size_t{1} << (2 * bound_bits);
      }
      s.header_line = reader.line_number();
      current = &s;
    };
    if (current == nullptr && out.info.empty() && is_tool_preamble(text)) {
      // What the authors' synthesis tool printed before their INFO lines: skipped, bounded.
      info_bytes += line.size() + 1;
      require(info_bytes <= date_max_info_bytes, date_where, reader.position(),
              ": the lines before the tables hold more than ", date_max_info_bytes, " bytes");
    } else if (text.rfind("INFO:", 0) == 0) {
      require(current == nullptr, date_where, reader.position(),
              ": INFO lines must come before the tables");
      info_bytes += line.size() + 1;
      require(info_bytes <= date_max_info_bytes, date_where, reader.position(),
              ": the INFO lines hold more than ", date_max_info_bytes, " bytes");
      std::string_view rest = text.substr(5);
      if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      // Carriage returns at the end belong to the line ending ("\r\r\n"): the writer could
      // not give them back (to_date_text refuses them).
      while (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
      out.info.emplace_back(rest);
    } else if (text.rfind(date_product_header, 0) == 0) {
      header(product, current == nullptr, "first");
    } else if (text.rfind(date_grad_a_header, 0) == 0) {
      header(grad_a, current == &product, "right after the product section");
    } else if (text.rfind(date_grad_b_header, 0) == 0) {
      header(grad_b, current == &product || current == &grad_a,
             "after the product and first-operand gradient sections");
    } else {
      require(current != nullptr, date_where, reader.position(), ": expected an INFO line or '",
              date_product_header, "', got ", quoted{text.substr(0, 80)});
      const auto pos = reader.position();
      const auto tokens = split_whitespace(text, 4);
      require(tokens.size() <= 3, date_where, pos,
              ": expected 3 integers 'a b value', got more than 3 tokens");
      require(tokens.size() == 3, date_where, pos, ": expected 3 integers 'a b value', got ",
              tokens.size(), " token(s): ", quoted{text.substr(0, 80)});
      require(current->entries.size() < max_entries, date_where, pos, ": ", current->name,
              " has more than ", max_entries, " entries, more than a table of ", bound_bits,
              " bits holds");
      current->entries.push_back({parse_integer(tokens[0], pos, date_where, "operand a"),
                                  parse_integer(tokens[1], pos, date_where, "operand b"),
                                  parse_integer(tokens[2], pos, date_where, "value"),
                                  reader.line_number()});
    }
  }
  require(product.header_line != 0, date_where, path, ": no '", date_product_header,
          "' line: not a DATE'25 table file");

  operand_format f{};
  if (format) {
    f = *format;
  } else {
    f = date_infer_format(product.entries, path);
    if (declared_bits) {
      // A file whose operands do not reach the top of the range is still B bits wide.
      require(*declared_bits >= f.bits, date_where, path, ": QUANTIZATION_BIT=", *declared_bits,
              " disagrees with operands that need ", f.bits, " bits");
      f.bits = *declared_bits;
    }
  }
  out.lut = date_fill<std::int32_t>(product, f, path);
  if (grad_a.header_line != 0) out.grad_a_x16 = date_fill<std::int16_t>(grad_a, f, path);
  if (grad_b.header_line != 0) out.grad_b_x16 = date_fill<std::int16_t>(grad_b, f, path);
  return out;
}

// The file's text, in the published layout.
inline std::string to_date_text(const date_table_file& file) {
  using namespace detail;
  require(!file.lut.empty(), "amgrad::write_date", "the product table is empty");
  for (const auto* g : {&file.grad_a_x16, &file.grad_b_x16})
    if (*g && (*g)->format() != file.lut.format())
      fail("amgrad::write_date", "a gradient table is ", to_string((*g)->format()),
           " but the product table is ", to_string(file.lut.format()));
  std::string out;
  const std::size_t entries = file.lut.size();
  out.reserve(64 * (file.info.size() + 1) + entries * 16 * 3);
  for (const auto& line : file.info) {
    require(line.find('\n') == std::string::npos, "amgrad::write_date",
            "an INFO line contains a line break");
    require(line.empty() || line.back() != '\r', "amgrad::write_date",
            "an INFO line ends in a carriage return (read back, it would be part of the line end)");
    out += "INFO: ";
    out += line;
    out += '\n';
  }
  append_date_section(out, date_product_header, file.lut);
  if (file.grad_a_x16) append_date_section(out, date_grad_a_header, *file.grad_a_x16);
  if (file.grad_b_x16) append_date_section(out, date_grad_b_header, *file.grad_b_x16);
  return out;
}

// Writes a DATE'25 table file; gzip-compressed when `path` ends in ".gz".
inline void write_date(const std::string& path, const date_table_file& file) {
  detail::write_all(path, to_date_text(file), "amgrad::write_date");
}

}  // namespace amgrad
