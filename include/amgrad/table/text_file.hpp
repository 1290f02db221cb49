#pragma once
// File plumbing shared by the table formats: reading a file (gzip or plain: zlib reads both)
// line by line or whole, writing one (gzip when the name ends in ".gz"), and strict integer
// tokens. Every error names the file and the line or byte offset.
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "amgrad/error.hpp"

namespace amgrad::detail {

inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// RAII over a gzFile. gzopen reads plain files transparently, so one reader serves both.
class gz_file {
 public:
  gz_file(const std::string& path, const char* mode, const char* where) : path_(path) {
    handle_ = gzopen(path.c_str(), mode);
    require(handle_ != nullptr, where, "cannot open '", path, "' for ",
            mode[0] == 'r' ? "reading" : "writing");
  }
  gz_file(const gz_file&) = delete;
  gz_file& operator=(const gz_file&) = delete;
  ~gz_file() {
    if (handle_ != nullptr) gzclose(handle_);
  }

  gzFile get() const { return handle_; }
  const std::string& path() const { return path_; }

  // Closes explicitly so that a failed final flush is reported, not swallowed by a destructor.
  void close(const char* where) {
    const int status = gzclose(handle_);
    handle_ = nullptr;
    require(status == Z_OK, where, "error while closing '", path_, "' (zlib status ", status, ")");
  }

 private:
  std::string path_;
  gzFile handle_ = nullptr;
};

// Reads a text file line by line; strips the line ending ("\n" or "\r\n").
class line_reader {
 public:
  line_reader(const std::string& path, const char* where) : file_(path, "rb", where), where_(where) {}

  bool next(std::string& line) {
    line.clear();
    char buffer[1 << 14];
    bool got_any = false;
    while (gzgets(file_.get(), buffer, sizeof buffer) != nullptr) {
      got_any = true;
      line += buffer;
      if (!line.empty() && line.back() == '\n') break;
    }
    check_stream();
    if (!got_any) return false;
    ++line_number_;
    if (!line.empty() && line.back() == '\n') line.pop_back();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  long line_number() const { return line_number_; }
  const std::string& path() const { return file_.path(); }
  // "<path>:<line>" for error messages.
  std::string position() const { return concat(file_.path(), ":", line_number_); }

 private:
  void check_stream() const {
    int code = Z_OK;
    const char* message = gzerror(file_.get(), &code);
    require(code == Z_OK || code == Z_BUF_ERROR, where_, file_.path(), ": read error after line ",
            line_number_, ": ", message);
  }

  gz_file file_;
  const char* where_;
  long line_number_ = 0;
};

// The whole (decompressed) content of a file, as bytes.
inline std::string read_all(const std::string& path, const char* where) {
  gz_file file(path, "rb", where);
  std::string out;
  char buffer[1 << 16];
  for (;;) {
    const int n = gzread(file.get(), buffer, sizeof buffer);
    if (n < 0) {
      int code = Z_OK;
      const char* message = gzerror(file.get(), &code);
      fail(where, path, ": read error at byte offset ", out.size(), ": ", message);
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

// Writes `content` to `path`: gzip-compressed when the name ends in ".gz", verbatim otherwise.
inline void write_all(const std::string& path, std::string_view content, const char* where) {
  gz_file file(path, ends_with(path, ".gz") ? "wb6" : "wbT", where);
  std::size_t done = 0;
  while (done < content.size()) {
    const auto chunk = static_cast<unsigned>(std::min<std::size_t>(content.size() - done, 1u << 30));
    const int n = gzwrite(file.get(), content.data() + done, chunk);
    require(n > 0, where, "write error on '", path, "' at byte offset ", done);
    done += static_cast<std::size_t>(n);
  }
  file.close(where);
}

inline void append_integer(std::string& out, std::int64_t v) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
  out.append(buffer, result.ptr);
}

inline std::vector<std::string_view> split_whitespace(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

inline bool is_blank(std::string_view line) { return split_whitespace(line).empty(); }

// Parses an integer token. Integral decimal forms that numpy writes ("12.0", "1.2e+01") are
// accepted too; anything else (letters, fractions, overflow) is an error naming `position`.
inline std::int64_t parse_integer(std::string_view token, const std::string& position,
                                  const char* where, const char* what) {
  std::int64_t value = 0;
  const char* first = token.data();
  const char* last = token.data() + token.size();
  if (!token.empty() && token.front() == '+') ++first;
  const auto [end, status] = std::from_chars(first, last, value);
  if (status == std::errc{} && end == last) return value;
  // Integral floating-point spellings.
  const std::string text(token);
  char* parsed_end = nullptr;
  const double d = std::strtod(text.c_str(), &parsed_end);
  const bool numeric = !text.empty() && parsed_end == text.c_str() + text.size();
  require(numeric && std::isfinite(d), where, position, ": ", what, " '", text,
          "' is not a number");
  require(d == std::floor(d) && std::fabs(d) < 9.0e15, where, position, ": ", what, " '", text,
          "' is not an integer");
  return static_cast<std::int64_t>(d);
}

}  // namespace amgrad::detail
