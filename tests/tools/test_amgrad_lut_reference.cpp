// amgrad-lut on the published DATE'25 tables: `grad --scheme lut2d --hws H --compat` writes
// the published sections byte for byte, `make truncated 8 --bits 8` writes the published
// truncated multiplier's table, and `info` states the published ER and MED.
#include <doctest/doctest.h>
#include <zlib.h>

#include <string>

#include "amgrad/amgrad.hpp"
#include "amgrad/table/format_date.hpp"
#include "run_tool.hpp"

using amgrad::test::run_lut_tool;
using amgrad::test::temp_dir;

namespace {

struct reference_file {
  const char* name;
  const char* hws;
  const char* er;   // from the INFO lines, as printed there (percent)
  const char* med;
};

const reference_file reference_files[] = {
    {"mul8u_17C8_lutfp+bp_avg_16_16.txt.gz", "16", "98.98834228515625", "370.0454406738281"},
    {"mul7u_08E_lutfp+bp_avg_4_4.txt.gz", "4", "97.528076171875", "75.077880859375"},
    {"8_8_U_SP_WT_CL_GenMul_vertical_truncation_8cols_lutfp+bp_avg_16_16.txt.gz", "16",
     "98.046875", "448.25"},
};

std::string reference_path(const reference_file& f) { return std::string(AMGRAD_REFERENCE_DIR) + "/" + f.name; }

// Decompressed with zlib directly, independently of the library's reader.
std::string gunzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  REQUIRE(file != nullptr);
  std::string out;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(file, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
  gzclose(file);
  REQUIRE(n == 0);
  return out;
}

// Everything from the given header line on (the INFO lines before it may differ).
std::string from_header(const std::string& text, const std::string& header) {
  const auto at = text.find(header);
  REQUIRE(at != std::string::npos);
  return text.substr(at);
}

}  // namespace

TEST_CASE("amgrad-lut grad --compat reproduces the published tables byte for byte") {
  temp_dir dir;
  for (const auto& f : reference_files) {
    CAPTURE(f.name);
    const auto out = dir.file("out.txt");
    const auto r = run_lut_tool(dir, "grad '" + reference_path(f) + "' --scheme lut2d --hws " + f.hws +
                                         " --compat -o '" + out + "'");
    REQUIRE(r.exit_code == 0);
    const std::string header = "LUT for approximate multiplier:\n";
    const auto published = from_header(gunzip(reference_path(f)), header);
    const auto ours = from_header(amgrad::test::read_bytes(out), header);
    CHECK(ours.size() == published.size());
    CHECK(ours == published);
    // Without --compat the first-operand boundary follows Eq. 6 instead; the rest is unchanged.
    REQUIRE(run_lut_tool(dir, "grad '" + reference_path(f) + "' --scheme lut2d --hws " + f.hws +
                                  " -o '" + out + "'").exit_code == 0);
    const std::string grad_b = "LUT for the gradient of the approximate multiplier w.r.t. the second operand:";
    CHECK(from_header(amgrad::test::read_bytes(out), grad_b) == from_header(published, grad_b));
  }
}

TEST_CASE("amgrad-lut make truncated 8 --bits 8 is the published truncated multiplier") {
  temp_dir dir;
  const auto& f = reference_files[2];
  REQUIRE(run_lut_tool(dir, "make truncated 8 --bits 8 -o '" + dir.file("t.txt") + "'").exit_code == 0);
  const std::string header = "LUT for approximate multiplier:\n";
  const auto published = from_header(gunzip(reference_path(f)), header);
  const auto product = published.substr(0, published.find("LUT for the gradient"));
  CHECK(from_header(amgrad::test::read_bytes(dir.file("t.txt")), header) == product);
}

TEST_CASE("amgrad-lut info states the published ER and MED") {
  temp_dir dir;
  for (const auto& f : reference_files) {
    CAPTURE(f.name);
    const auto r = run_lut_tool(dir, "info '" + reference_path(f) + "'");
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find(std::string("ER      ") + f.er + " %\n") != std::string::npos);
    CHECK(r.out.find(std::string("MED     ") + f.med + "\n") != std::string::npos);
  }
}
