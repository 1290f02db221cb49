#pragma once
// What a gradient scheme produces, and the traits the kernels dispatch on.
//
// Every scheme S has
//   static constexpr const char* name;
//   static constexpr bool is_separable;        // gradient w.r.t. a depends on b only (and v.v.)
//   gradient_tables tables(const product_table&) const;           // full dAM/da, dAM/db
// and a separable scheme also has
//   separable_gradients factors(const product_table&) const;      // g_a(b), g_b(a)
// Separable schemes turn the backward pass into an elementwise map plus a float GEMM.
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "amgrad/table/table.hpp"

namespace amgrad {

// dAM/da and dAM/db, both indexed [a][b] by code.
struct gradient_tables {
  gradient_table da;
  gradient_table db;
};

// g_a indexed by the code of b, g_b indexed by the code of a.
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

namespace detail {
template <class S, class = void>
struct has_scheme_members : std::false_type {};
template <class S>
struct has_scheme_members<
    S, std::void_t<decltype(S::name), decltype(S::is_separable),
                   decltype(std::declval<const S&>().tables(std::declval<const product_table&>()))>>
    : std::true_type {};
template <class S, class = void>
struct has_factors : std::false_type {};
template <class S>
struct has_factors<S, std::void_t<decltype(std::declval<const S&>().factors(
                          std::declval<const product_table&>()))>> : std::true_type {};
}  // namespace detail

template <class Scheme>
constexpr void check_scheme() {
  static_assert(detail::has_scheme_members<Scheme>::value,
                "amgrad: a gradient scheme needs `name`, `is_separable` and "
                "`gradient_tables tables(const product_table&) const`");
  static_assert(!Scheme::is_separable || detail::has_factors<Scheme>::value,
                "amgrad: a separable gradient scheme needs "
                "`separable_gradients factors(const product_table&) const`");
}

// The 16-bit fixed-point form used by table kernels (the published CUDA code stores round(16 g)
// as int16). Rounds half to even, like the published tables; throws if a value does not fit.
inline table<std::int16_t> to_fixed_point(const gradient_table& g, double scale = 16.0) {
  detail::require(std::isfinite(scale) && scale > 0, "amgrad::to_fixed_point",
                  "the scale must be finite and positive, got ", scale);
  table<std::int16_t> out(g.format());
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double v = std::nearbyint(static_cast<double>(g.data()[i]) * scale);
    detail::require(std::isfinite(v) && v >= -32768.0 && v <= 32767.0, "amgrad::to_fixed_point",
                    "gradient entry ", i, " = ", g.data()[i], " does not fit int16 at scale ", scale);
    out.data()[i] = static_cast<std::int16_t>(v);
  }
  return out;
}

}  // namespace amgrad
