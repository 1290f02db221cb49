#pragma once
// File plumbing shared by the table formats: reading a file (gzip or plain: zlib reads both)
// line by line or whole, writing one (gzip when the name ends in ".gz"), and strict integer
// tokens. Every error names the file and the line or byte offset.
//
// Hostile or damaged input is bounded here: a gzip stream that ends before its trailer is an
// error (input_file says why gzread is not used); a line longer than `max_line_bytes`, or a
// text longer than `max_text_bytes`, stops the reading at once. The
// readers bound their own content (entries per section, tokens per line, bytes of a binary
// table), so no reader holds more than the largest valid table, whatever the file.
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "amgrad/error.hpp"

namespace amgrad::detail {

// The longest line a valid table file has is an ApproxTorch row of 256 numpy-spelled entries
// (about 6.7 KB); the limit leaves ten times that.
inline constexpr std::size_t max_line_bytes = std::size_t{1} << 16;
// The largest valid text file is a DATE'25 u8 file with both gradient sections in numpy's
// "%.18e" spelling (about 15 MB); the limit bounds the time a flood of blank lines can take.
inline constexpr std::size_t max_text_bytes = std::size_t{32} << 20;

inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "<path>:<line>" in error messages, formatted only when one is raised.
struct line_position {
  const std::string* path;
  long line;
  friend std::ostream& operator<<(std::ostream& out, const line_position& p) {
    return out << *p.path << ':' << p.line;
  }
};

// A token quoted in an error message, cut to a readable length (formatted only when printed).
struct quoted {
  std::string_view token;
  friend std::ostream& operator<<(std::ostream& out, const quoted& q) {
    constexpr std::size_t shown = 40;
    if (q.token.size() <= shown) return out << '\'' << q.token << '\'';
    return out << '\'' << q.token.substr(0, shown) << "...' (" << q.token.size() << " characters)";
  }
};

// RAII over a gzFile, for writing (gzip when the mode says so, verbatim with "wbT").
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

// A file for reading, gzip-compressed (it starts with the gzip magic 1f 8b) or plain, with
// zlib's inflate used directly rather than gzread: gzread treats a stream that ends inside the
// gzip trailer as a normal end of file (it does not even flag Z_BUF_ERROR when the data ran out
// exactly with the deflate stream), so a cut .gz read as valid, unchecked data. Here a gzip
// member must end with its trailer (CRC-32 and length checked by inflate); another member may
// follow (as gzip(1) allows), anything else after it is an error. The compressed input is
// bounded by `max_text_bytes` too.
class input_file {
 public:
  input_file(const std::string& path, const char* where) : path_(path), where_(where) {
    file_ = std::fopen(path.c_str(), "rb");
    require(file_ != nullptr, where, "cannot open '", path, "' for reading");
    fill_input();
    gzip_ = starts_gzip_member();
    if (gzip_) {
      stream_.next_in = input_.data() + in_begin_;
      stream_.avail_in = static_cast<uInt>(in_end_ - in_begin_);
      in_begin_ = in_end_;
      if (inflateInit2(&stream_, 15 + 16) != Z_OK) {
        std::fclose(file_);
        fail(where, path, ": zlib cannot initialise its decoder");
      }
    }
  }
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;
  ~input_file() {
    if (gzip_) inflateEnd(&stream_);
    std::fclose(file_);
  }

  const std::string& path() const { return path_; }
  bool is_gzip() const { return gzip_; }

  // Reads up to `size` (decompressed) bytes into `out`; returns fewer only at the end of the
  // data, 0 after it. Damaged, truncated or trailing data is an amgrad::error.
  std::size_t read(char* out, std::size_t size) {
    std::size_t got = 0;
    if (!gzip_) {
      while (got < size) {
        if (in_begin_ == in_end_ && !fill_input()) break;
        const std::size_t n = std::min(size - got, in_end_ - in_begin_);
        std::copy_n(input_.data() + in_begin_, n, out + got);
        in_begin_ += n;
        got += n;
      }
      offset_ += got;
      return got;
    }
    while (got < size && !done_) {
      if (stream_.avail_in == 0) {
        if (!fill_input())
          fail(where_, path_, ": unexpected end of file: the compressed data ends before the gzip "
               "trailer, after byte offset ", offset_ + got, " of the text (truncated file?)");
        stream_.next_in = input_.data() + in_begin_;
        stream_.avail_in = static_cast<uInt>(in_end_ - in_begin_);
        in_begin_ = in_end_;
      }
      const auto want = static_cast<uInt>(std::min<std::size_t>(size - got, 1u << 30));
      stream_.next_out = reinterpret_cast<Bytef*>(out + got);
      stream_.avail_out = want;
      const int status = inflate(&stream_, Z_NO_FLUSH);
      got += want - stream_.avail_out;
      if (status == Z_STREAM_END) {
        next_member();
      } else if (status != Z_OK && status != Z_BUF_ERROR) {
        fail(where_, path_, ": damaged gzip data after byte offset ", offset_ + got,
             " of the text (zlib: ", stream_.msg != nullptr ? stream_.msg : "error ",
             stream_.msg != nullptr ? "" : std::to_string(status), ")");
      }
    }
    offset_ += got;
    return got;
  }

 private:
  // Reads more raw bytes into the (empty) input buffer; false at the end of the file.
  bool fill_input() {
    in_begin_ = 0;
    in_end_ = std::fread(input_.data(), 1, input_.size(), file_);
    require(!std::ferror(file_), where_, path_, ": read error at byte offset ", raw_bytes_);
    raw_bytes_ += in_end_;
    require(raw_bytes_ <= max_text_bytes + input_.size(), where_, path_, ": more than ",
            max_text_bytes, " bytes, more than any valid table file");
    return in_end_ != 0;
  }

  // Whether the unread raw input starts with the gzip magic (reading more if needed).
  bool starts_gzip_member() {
    if (in_end_ - in_begin_ == 1) {  // one byte left in the buffer: move it, read more
      input_[0] = input_[in_begin_];
      const std::size_t n = std::fread(input_.data() + 1, 1, input_.size() - 1, file_);
      require(!std::ferror(file_), where_, path_, ": read error at byte offset ", raw_bytes_);
      raw_bytes_ += n;
      in_begin_ = 0;
      in_end_ = 1 + n;
    }
    return in_end_ - in_begin_ >= 2 && input_[in_begin_] == 0x1f && input_[in_begin_ + 1] == 0x8b;
  }

  // After a gzip member's trailer: the end of the file, or another member.
  void next_member() {
    if (stream_.avail_in != 0) {  // give the unread input back to the buffer
      in_begin_ = static_cast<std::size_t>(stream_.next_in - input_.data());
      stream_.avail_in = 0;
    }
    if (in_begin_ == in_end_ && !fill_input()) {
      done_ = true;
      return;
    }
    require(starts_gzip_member(), where_, path_, ": unexpected data after the gzip stream, at "
            "compressed byte offset ", raw_bytes_ - (in_end_ - in_begin_));
    stream_.next_in = input_.data() + in_begin_;
    stream_.avail_in = static_cast<uInt>(in_end_ - in_begin_);
    in_begin_ = in_end_;
    inflateReset(&stream_);
  }

  std::string path_;
  const char* where_;
  std::FILE* file_ = nullptr;
  std::vector<unsigned char> input_ = std::vector<unsigned char>(std::size_t{1} << 16);
  std::size_t in_begin_ = 0, in_end_ = 0;  // unread raw bytes not yet given to inflate
  std::size_t raw_bytes_ = 0;              // raw bytes read from the file
  std::size_t offset_ = 0;                 // decompressed bytes returned
  z_stream stream_{};
  bool gzip_ = false;
  bool done_ = false;
};

// Reads a text file line by line; strips the line ending ("\n" or "\r\n"). A line longer than
// `max_line_bytes` or a text longer than `max_text_bytes` is an error, raised as soon as the
// reader gets there: it never holds more than one line and one buffer.
class line_reader {
 public:
  line_reader(const std::string& path, const char* where) : file_(path, where), where_(where) {}

  bool next(std::string& line) {
    line.clear();
    bool got_any = false;
    for (;;) {
      if (begin_ == end_ && !refill()) break;
      got_any = true;
      const char* start = buffer_.data() + begin_;
      const char* stop = buffer_.data() + end_;
      const char* newline = std::find(start, stop, '\n');
      const auto length = static_cast<std::size_t>(newline - start);
      require(line.size() + length <= max_line_bytes, where_, path(), ":", line_number_ + 1,
              ": the line is longer than ", max_line_bytes, " bytes (no valid table has one)");
      line.append(start, length);
      begin_ += length;
      if (newline != stop) {
        ++begin_;
        break;
      }
    }
    if (!got_any) return false;
    ++line_number_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  long line_number() const { return line_number_; }
  const std::string& path() const { return file_.path(); }
  // "<path>:<line>" for error messages.
  line_position position() const { return {&file_.path(), line_number_}; }

 private:
  bool refill() {
    begin_ = 0;
    end_ = file_.read(buffer_.data(), buffer_.size());
    consumed_ += end_;
    require(consumed_ <= max_text_bytes, where_, path(), ": more than ", max_text_bytes,
            " bytes of text, more than any valid table file (stopped after line ", line_number_,
            ")");
    return end_ != 0;
  }

  input_file file_;
  const char* where_;
  std::vector<char> buffer_ = std::vector<char>(std::size_t{1} << 16);
  std::size_t begin_ = 0, end_ = 0;
  std::size_t consumed_ = 0;  // decompressed bytes read so far
  long line_number_ = 0;
};

// The whole (decompressed) content of a file, as bytes; more than `max_bytes` is an error,
// raised after reading at most one buffer beyond the limit.
inline std::string read_all(const std::string& path, const char* where, std::size_t max_bytes) {
  input_file file(path, where);
  std::string out;
  std::vector<char> buffer(std::size_t{1} << 16);
  for (;;) {
    const std::size_t want = std::min(buffer.size(), max_bytes + 1 - out.size());
    const std::size_t n = file.read(buffer.data(), want);
    if (n == 0) break;
    out.append(buffer.data(), n);
    if (out.size() > max_bytes)
      fail(where, path, ": more than ", max_bytes, " bytes (stopped reading at byte offset ",
           out.size(), ")");
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

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

inline bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), is_space);
}

// The first `limit` whitespace-separated tokens of `line`: the scan stops there, so a caller
// that allows N tokens asks for N + 1 and rejects a line that has them, whatever its length.
inline std::vector<std::string_view> split_whitespace(std::string_view line, std::size_t limit) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size() && out.size() < limit) {
    while (i < line.size() && is_space(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// Parses an integer token, without locale and without guessing:
//   - decimal digits with an optional '-' or a single leading '+' ("+5" is 5; "+-5", "++5" and
//     "-+5" are errors);
//   - or an integral decimal floating-point spelling as numpy writes it ("12.0",
//     "1.2e+01"), exact up to 2^53.
// Hex ("0x10", "0x1p3"), "inf", "nan", embedded whitespace, a comma and anything else are
// errors; so is a value beyond int64 or 2^53 ("is out of range"). Callers check their own
// narrower range. Errors name `position` and quote the token.
template <class Position>
std::int64_t parse_integer(std::string_view token, const Position& position, const char* where,
                           const char* what) {
  const auto not_a_number = [&] {
    fail(where, position, ": ", what, " ", quoted{token}, " is not a number");
  };
  const auto out_of_range = [&] {
    fail(where, position, ": ", what, " ", quoted{token}, " is out of range");
  };
  std::string_view body = token;
  if (!body.empty() && body.front() == '+') body.remove_prefix(1);
  // After an optional '+', the next character is a digit, a '.' or (without '+') one '-'.
  const std::size_t lead = !body.empty() && body.front() == '-' && body.size() == token.size() ? 1 : 0;
  if (body.size() <= lead || !(std::isdigit(static_cast<unsigned char>(body[lead])) || body[lead] == '.'))
    not_a_number();
  const char* first = body.data();
  const char* last = body.data() + body.size();
  std::int64_t value = 0;
  const auto [end, status] = std::from_chars(first, last, value);
  if (end == last) {
    if (status == std::errc::result_out_of_range) out_of_range();
    if (status == std::errc{}) return value;
  }
  // Integral floating-point spellings (chars_format::general: no hex, no locale).
  double d = 0;
  const auto [fend, fstatus] = std::from_chars(first, last, d, std::chars_format::general);
  if (fend != last || (fstatus != std::errc{} && fstatus != std::errc::result_out_of_range))
    not_a_number();
  constexpr double exact_limit = 9007199254740992.0;  // 2^53
  if (fstatus == std::errc::result_out_of_range || !(std::fabs(d) <= exact_limit)) out_of_range();
  if (d != std::floor(d))
    fail(where, position, ": ", what, " ", quoted{token}, " is not an integer");
  return static_cast<std::int64_t>(d);
}

}  // namespace amgrad::detail
