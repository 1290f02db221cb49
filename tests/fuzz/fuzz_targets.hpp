#pragma once
// The table readers as fuzz targets: one function per reader taking the input bytes. They are
// shared by the libFuzzer harnesses (fuzz_main.cpp, clang only) and by the replay test that
// every build runs (tests/table/test_fuzz_replay.cpp), so a crasher checked in under
// tests/fuzz/regressions/<reader>/ is replayed by ctest without libFuzzer.
//
// Contract of every target: it returns normally or throws amgrad::error. An oracle that does
// not hold throws fuzz::oracle_failure (a std::logic_error): the harness lets it escape, which
// libFuzzer reports as a crash, and the replay test reports it as a failure.
//
// The readers take paths, so each target writes the bytes (or bytes derived from them) to a
// scratch file first. The first byte of some targets selects an option (documented per target).
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include "amgrad/table/format_approxtorch.hpp"
#include "amgrad/table/format_date.hpp"
#include "amgrad/table/format_tfapprox.hpp"
#include "amgrad/table/io.hpp"

namespace amgrad::fuzz {

struct oracle_failure : std::logic_error {
  using std::logic_error::logic_error;
};

inline void expect(bool condition, const char* what) {
  if (!condition) throw oracle_failure(what);
}

// A scratch file per process and per name (libFuzzer's -jobs run several processes), removed
// when the process ends normally. It lives in /dev/shm where there is one (memory, not disk),
// and is rewritten in place: truncating a file to zero and rewriting it makes ext4 flush it on
// close (auto_da_alloc), which cost 2 ms an input.
class scratch_file {
 public:
  explicit scratch_file(const std::string& name) {
    std::error_code ignored;
    const std::filesystem::path shm = "/dev/shm";
    const auto folder = std::filesystem::is_directory(shm, ignored) && ::access("/dev/shm", W_OK) == 0
                            ? shm
                            : std::filesystem::temp_directory_path();
    path_ = (folder / ("amgrad-fuzz-" + std::to_string(::getpid()) + "-" + name)).string();
  }
  scratch_file(const scratch_file&) = delete;
  scratch_file& operator=(const scratch_file&) = delete;
  ~scratch_file() { ::unlink(path_.c_str()); }

  const std::string& write(std::string_view bytes) const {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT, 0600);
    if (fd < 0) throw std::runtime_error("fuzz: cannot write the scratch file " + path_);
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ::ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    const bool ok = done == bytes.size() && ::ftruncate(fd, static_cast<::off_t>(bytes.size())) == 0;
    if (::close(fd) != 0 || !ok) throw std::runtime_error("fuzz: cannot write " + path_);
    return path_;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline const scratch_file& scratch(int which = 0) {
  static const scratch_file files[3] = {scratch_file("a"), scratch_file("b"), scratch_file("c")};
  return files[which];
}

// gzip-compresses `text` in memory (one member, level 6).
inline std::string gzip(std::string_view text) {
  z_stream s{};
  if (deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("fuzz: deflateInit2 failed");
  std::string out(deflateBound(&s, static_cast<uLong>(text.size())), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  s.avail_in = static_cast<uInt>(text.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  if (status != Z_STREAM_END) throw std::runtime_error("fuzz: deflate did not finish");
  return out;
}

inline bool same(const date_table_file& x, const date_table_file& y) {
  return x.info == y.info && x.lut == y.lut && x.grad_a_x16 == y.grad_a_x16 &&
         x.grad_b_x16 == y.grad_b_x16;
}

// A DATE'25 file that was read must survive write + read unchanged.
inline void check_date_round_trip(const date_table_file& file) {
  const auto& path = scratch(1).write(to_date_text(file));
  expect(same(read_date(path), file), "DATE'25: write + read changed the table");
}

// DATE'25 text, plain: the bytes are the file.
inline void date_text(std::string_view bytes) {
  const auto file = read_date(scratch().write(bytes));
  check_date_round_trip(file);
  expect(read_product_table(scratch().path(), table_format::date) == file.lut,
         "DATE'25: read_product_table differs from read_date");
}

// DATE'25 text, gzip. First byte m, rest r:
//   m even: r is the file as is (raw gzip bytes, or anything else);
//   m odd:  r is the text; it is gzip-compressed and (m >> 1) bytes are cut off the end. A cut
//           stream must be rejected; an uncut one must read exactly like the plain text.
inline void date_gz(std::string_view bytes) {
  if (bytes.empty()) return;
  const auto mode = static_cast<unsigned char>(bytes[0]);
  const std::string_view rest = bytes.substr(1);
  if (mode % 2 == 0) {
    check_date_round_trip(read_date(scratch().write(rest)));
    return;
  }
  const std::string compressed = gzip(rest);
  const std::size_t cut = mode >> 1;
  const auto& path = scratch().write(std::string_view(compressed).substr(0, compressed.size() - std::min(cut, compressed.size())));
  if (cut > 0) {
    bool rejected = false;
    try {
      (void)read_date(path);
    } catch (const amgrad::error&) {
      rejected = true;
    }
    expect(rejected, "DATE'25 gzip: a stream cut before its end was accepted");
    return;
  }
  std::optional<date_table_file> from_gz, from_text;
  std::string gz_error, text_error;
  try {
    from_gz = read_date(path);
  } catch (const amgrad::error& e) {
    gz_error = e.what();
  }
  try {
    from_text = read_date(scratch(2).write(rest));
  } catch (const amgrad::error& e) {
    text_error = e.what();
  }
  expect(from_gz.has_value() == from_text.has_value(),
         "DATE'25 gzip: the gzip file and the plain text disagree on validity");
  if (from_gz) {
    expect(same(*from_gz, *from_text), "DATE'25 gzip: the gzip file and the plain text differ");
    check_date_round_trip(*from_gz);
  }
}

// ApproxTorch matrix. First byte: signedness, 0 mod 3 none, 1 unsigned, 2 signed; rest: the file.
inline void approxtorch(std::string_view bytes) {
  if (bytes.empty()) return;
  const int choice = static_cast<unsigned char>(bytes[0]) % 3;
  const std::optional<bool> is_signed = choice == 0 ? std::nullopt : std::optional<bool>(choice == 2);
  const auto lut = read_approxtorch(scratch().write(bytes.substr(1)), is_signed);
  if (is_signed) expect(lut.format().is_signed == *is_signed, "ApproxTorch: signedness not honoured");
  const auto& again = scratch(1).write(to_approxtorch_text(lut));
  expect(read_approxtorch(again, lut.format().is_signed) == lut, "ApproxTorch: write + read changed the table");
}

// TFApprox binary. First byte b: b % 9 in 2..8 is an explicit width, else none; rest: the file.
inline void tfapprox(std::string_view bytes) {
  if (bytes.empty()) return;
  const int choice = static_cast<unsigned char>(bytes[0]) % 9;
  const std::optional<int> bits = choice >= min_bits ? std::optional<int>(choice) : std::nullopt;
  const auto lut = read_tfapprox(scratch().write(bytes.substr(1)), bits);
  expect(lut.format() == operand_format{bits.value_or(8), false}, "TFApprox: not the width asked for");
  const auto& again = scratch(1).write(to_tfapprox_bytes(lut));
  expect(read_tfapprox(again, lut.format().bits) == lut, "TFApprox: write + read changed the table");
}

// Format detection and the reader it picks: the bytes are the file.
inline void detect(std::string_view bytes) {
  const auto& path = scratch().write(bytes);
  const table_format f = detect_format(path);
  const auto lut = read_product_table(path);
  expect(read_product_table(path, f) == lut, "detect: an explicit format read differently");
}

struct target {
  const char* name;
  void (*run)(std::string_view);
};

inline constexpr target targets[] = {{"date_text", date_text},
                                     {"date_gz", date_gz},
                                     {"approxtorch", approxtorch},
                                     {"tfapprox", tfapprox},
                                     {"detect", detect}};

}  // namespace amgrad::fuzz
