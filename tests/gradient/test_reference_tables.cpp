// Conformance with the published DATE'25 tables (shared/reference, see DESIGN.md section 2):
// the compat rule reproduces them bit for bit, Eq. 6 keeps their interior and recomputes the
// boundary, and the error metrics reproduce what their INFO lines state.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "amgrad/amgrad.hpp"
#include "amgrad/table/format_date.hpp"
#include "amgrad/table/metrics.hpp"

namespace {

struct reference_file {
  const char* name;
  int hws;  // the bp_avg_H_H in the name; checked against the name below
};

const reference_file reference_files[] = {
    {"mul8u_17C8_lutfp+bp_avg_16_16.txt.gz", 16},
    {"mul7u_08E_lutfp+bp_avg_4_4.txt.gz", 4},
    {"8_8_U_SP_WT_CL_GenMul_vertical_truncation_8cols_lutfp+bp_avg_16_16.txt.gz", 16},
};

std::string path_of(const reference_file& f) { return std::string(AMGRAD_REFERENCE_DIR) + "/" + f.name; }

int hws_from_name(const std::string& name) {
  const auto at = name.find("bp_avg_");
  REQUIRE(at != std::string::npos);
  return std::stoi(name.substr(at + 7));
}

// "INFO: <key>: <number>[%]" -> key -> number (percent signs kept out, values as printed).
std::map<std::string, double> info_numbers(const std::vector<std::string>& info) {
  std::map<std::string, double> out;
  for (const auto& line : info) {
    const auto colon = line.rfind(": ");
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 2);
    if (!value.empty() && value.back() == '%') value.pop_back();
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (end != value.c_str() && *end == '\0') out[line.substr(0, colon)] = v;
  }
  return out;
}

const amgrad::date_table_file& load(const reference_file& f) {
  static std::map<std::string, amgrad::date_table_file> cache;
  auto it = cache.find(f.name);
  if (it == cache.end()) it = cache.emplace(f.name, amgrad::read_date(path_of(f))).first;
  return it->second;
}

// The published x16 form of a float32 gradient, computed here independently of the library.
std::int16_t x16(float g) { return static_cast<std::int16_t>(std::nearbyint(16.0 * g)); }

}  // namespace

TEST_CASE("reference files: name, format and sections") {
  for (const auto& f : reference_files) {
    CAPTURE(f.name);
    CHECK(hws_from_name(f.name) == f.hws);
    const auto& file = load(f);
    CHECK_FALSE(file.lut.format().is_signed);
    CHECK(file.lut.format().bits == (std::string(f.name).find("mul7u") == 0 ? 7 : 8));
    CHECK(file.grad_a_x16.has_value());
    CHECK(file.grad_b_x16.has_value());
  }
}

TEST_CASE("metrics reproduce the INFO lines of the reference files") {
  for (const auto& f : reference_files) {
    CAPTURE(f.name);
    const auto& file = load(f);
    const auto stated = info_numbers(file.info);
    const auto m = amgrad::metrics(file.lut);
    const auto info = [&](const char* key) {
      const auto it = stated.find(key);
      REQUIRE_MESSAGE(it != stated.end(), "no INFO line '" << key << "'");
      return doctest::Approx(it->second).epsilon(1e-7);
    };
    CHECK(100.0 * m.error_rate == info("Error rate between lut_appmult and lut_mult"));
    CHECK(m.med == info("Mean error distance between lut_appmult and lut_mult"));
    CHECK(100.0 * m.nmed_over_2_pow_2b ==
          info("Normalized mean error distance between lut_appmult and lut_mult"));
    CHECK(static_cast<double>(m.wce) == info("Maximum error distance between lut_appmult and lut_mult"));
    CHECK(m.mse == info("Mean squared error between lut_appmult and lut_accmult"));
    CHECK(m.bias == doctest::Approx(stated.at("Mean of lut_appmult") - stated.at("Mean of lut_mult"))
                        .epsilon(1e-7));
  }
}

TEST_CASE("lut2d with the published boundary rule reproduces the published x16 tables") {
  for (const auto& f : reference_files) {
    CAPTURE(f.name);
    const auto& file = load(f);
    const auto g = amgrad::lut2d{f.hws, amgrad::boundary_rule::published}.tables(file.lut);
    const auto da = amgrad::to_fixed_point(g.da, 16.0);
    const auto db = amgrad::to_fixed_point(g.db, 16.0);
    std::size_t wrong_a = 0, wrong_b = 0;
    for (std::size_t i = 0; i < da.size(); ++i) {
      wrong_a += da.data()[i] != file.grad_a_x16->data()[i];
      wrong_b += db.data()[i] != file.grad_b_x16->data()[i];
    }
    CHECK(wrong_a == 0);
    CHECK(wrong_b == 0);
  }
}

TEST_CASE("lut2d with Eq. 6 keeps the published interior and recomputes the boundary") {
  for (const auto& f : reference_files) {
    CAPTURE(f.name);
    const auto& file = load(f);
    const auto& lut = file.lut;
    const int n = lut.side(), h = f.hws;
    const auto g = amgrad::lut2d{h, amgrad::boundary_rule::eq6}.tables(lut);
    const auto da = amgrad::to_fixed_point(g.da, 16.0);
    const auto db = amgrad::to_fixed_point(g.db, 16.0);
    const auto interior = [&](int x) { return x > h && x < n - 1 - h; };

    // Eq. 6, computed here: (max - min) / 2^B over column b (for dAM/da) or row a (dAM/db).
    std::vector<float> column_rate(static_cast<std::size_t>(n)), row_rate(static_cast<std::size_t>(n));
    for (int c = 0; c < n; ++c) {
      std::int32_t col_lo = lut(0, c), col_hi = lut(0, c), row_lo = lut(c, 0), row_hi = lut(c, 0);
      for (int x = 0; x < n; ++x) {
        col_lo = std::min(col_lo, lut(x, c));
        col_hi = std::max(col_hi, lut(x, c));
        row_lo = std::min(row_lo, lut(c, x));
        row_hi = std::max(row_hi, lut(c, x));
      }
      column_rate[static_cast<std::size_t>(c)] = static_cast<float>(col_hi - col_lo) / static_cast<float>(n);
      row_rate[static_cast<std::size_t>(c)] = static_cast<float>(row_hi - row_lo) / static_cast<float>(n);
    }

    std::size_t interior_diff = 0, boundary_diff = 0, boundary_vs_published = 0;
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b) {
        const auto published_a = (*file.grad_a_x16)(a, b), published_b = (*file.grad_b_x16)(a, b);
        if (interior(a)) {
          interior_diff += da(a, b) != published_a;
        } else {
          boundary_diff += g.da(a, b) != column_rate[static_cast<std::size_t>(b)];
          boundary_diff += da(a, b) != x16(column_rate[static_cast<std::size_t>(b)]);
          boundary_vs_published += da(a, b) != published_a;
        }
        if (interior(b)) {
          interior_diff += db(a, b) != published_b;
        } else {
          boundary_diff += g.db(a, b) != row_rate[static_cast<std::size_t>(a)];
          boundary_diff += db(a, b) != published_b;  // the published dAM/db boundary is Eq. 6
        }
      }
    CHECK(interior_diff == 0);
    CHECK(boundary_diff == 0);
    // Where row and column ranges differ, the published dAM/da boundary is not Eq. 6.
    const bool ranges_differ = column_rate != row_rate;
    CHECK((boundary_vs_published > 0) == ranges_differ);
    if (std::string(f.name).find("mul8u_17C8") == 0) CHECK(ranges_differ);
  }
}
