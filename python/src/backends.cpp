// Instantiates every (operand type x run-time scheme) backend over a run-time table, from the
// library's lists (amgrad::operand_types, amgrad::nn::runtime_schemes: the built-in schemes and,
// where LAPACKE is linked, lut2d_lowrank): compiled once, in its own translation unit.
#include "backends.hpp"

#include "amgrad/gradient/builtin.hpp"
#include "amgrad/multiplier/table_multiplier.hpp"
#include "amgrad/torch/registry.hpp"

namespace amgrad::python {
namespace {

rate_rule parse_rule(const std::string& r) {
  if (r == "signed_range") return rate_rule::signed_range;
  if (r == "secant") return rate_rule::secant;
  if (r == "lut2d_mean") return rate_rule::lut2d_mean;
  if (r == "least_squares") return rate_rule::least_squares;
  fail("amgrad.lut1d", "unknown rate rule '", r,
       "' (expected signed_range, secant, lut2d_mean or least_squares)");
}

boundary_rule parse_boundary(const std::string& b) {
  if (b == "eq6") return boundary_rule::eq6;
  if (b == "published") return boundary_rule::published;
  fail("amgrad.lut2d", "unknown boundary rule '", b, "' (expected eq6 or published)");
}

// Calls f(scheme) with the scheme the spec names, every field set.
template <class F>
void with_scheme_spec(const scheme_spec& s, F&& f) {
  nn::with_runtime_scheme(s.name, {s.hws, s.rank_tolerance, s.rank}, [&](auto scheme) {
    if constexpr (requires { scheme.rule; }) scheme.rule = parse_rule(s.rule);
    if constexpr (requires { scheme.boundary; }) scheme.boundary = parse_boundary(s.boundary);
    f(scheme);
  });
}

}  // namespace

std::shared_ptr<const nn::backend> make_backend(const product_table& lut, const scheme_spec& s,
                                                const std::string& label) {
  std::shared_ptr<const nn::backend> out;
  with_operand(lut.format(), [&](auto op) {
    using Operand = typename decltype(op)::type;
    with_scheme_spec(s, [&](auto scheme) {
      out = std::make_shared<const nn::backend_for<table_multiplier, Operand, decltype(scheme)>>(
          table_multiplier(lut), scheme, label);
    });
  });
  return out;
}

gradient_tables scheme_tables(const product_table& lut, const scheme_spec& s) {
  gradient_tables out;
  with_scheme_spec(s, [&](auto scheme) { out = scheme.tables(lut); });
  return out;
}

low_rank_gradients scheme_low_rank(const product_table& lut, const scheme_spec& s) {
  lut2d_lowrank<> scheme;
  scheme.hws = s.hws;
  scheme.boundary = parse_boundary(s.boundary);
  scheme.rank = s.rank;
  scheme.tolerance = s.rank_tolerance;
  return scheme.low_rank(lut);
}

}  // namespace amgrad::python
