#pragma once
// What a gradient scheme produces, as plain data the kernels consume: the two full gradient
// tables, the one-operand factors of a separable scheme, and the 16-bit fixed-point form of a
// table that the table kernels store.
#include <cmath>
#include <cstdint>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad {

// dAM/da and dAM/db, both indexed [a][b] by code.
struct gradient_tables {
  gradient_table da;
  gradient_table db;
};

// g_a indexed by the code of b, g_b indexed by the code of a: dAM/da(a, b) = g_a(b) and
// dAM/db(a, b) = g_b(a). Separable schemes turn the backward pass into an elementwise map plus
// a float GEMM.
struct separable_gradients {
  operand_format format{};
  std::vector<float> da_of_b;
  std::vector<float> db_of_a;

  gradient_tables expand() const {
    gradient_tables out{gradient_table(format), gradient_table(format)};
    for (int a = 0; a < format.size(); ++a)
      for (int b = 0; b < format.size(); ++b) {
        out.da(a, b) = da_of_b[static_cast<std::size_t>(b)];
        out.db(a, b) = db_of_a[static_cast<std::size_t>(a)];
      }
    return out;
  }
};

// The scale of the 16-bit fixed-point gradient: the published tables and CUDA code store
// round(16 g) as int16, and the table kernels do the same (error <= 1/32 per entry).
inline constexpr double fixed_point_scale = 16.0;

// Whether g * scale rounds to a value int16 holds.
inline bool fits_fixed_point(float g, double scale = fixed_point_scale) {
  const double v = std::nearbyint(static_cast<double>(g) * scale);
  return std::isfinite(v) && v >= -32768.0 && v <= 32767.0;
}

// round(scale * g) as int16, half to even like the published tables; throws if a value does
// not fit.
inline table<std::int16_t> to_fixed_point(const gradient_table& g,
                                          double scale = fixed_point_scale) {
  amgrad::require(std::isfinite(scale) && scale > 0, "amgrad::to_fixed_point",
                  "the scale must be finite and positive, got ", scale);
  table<std::int16_t> out(g.format());
  for (std::size_t i = 0; i < g.size(); ++i) {
    amgrad::require(fits_fixed_point(g.data()[i], scale), "amgrad::to_fixed_point",
                    "gradient entry ", i, " = ", g.data()[i], " does not fit int16 at scale ",
                    scale);
    out.data()[i] =
        static_cast<std::int16_t>(std::nearbyint(static_cast<double>(g.data()[i]) * scale));
  }
  return out;
}

}  // namespace amgrad
