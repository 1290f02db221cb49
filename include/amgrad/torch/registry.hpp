#pragma once
// Backends picked at run time, generated from the library's lists (every operand type x every
// built-in scheme, over a run-time truth table): any table, read from one of the three file
// formats or made from a built-in model spec, with a scheme named at run time.
//
//   auto be = amgrad::nn::make_backend(amgrad::read_product_table("mul8u_17C8.txt.gz"),
//                                      "lut2d", 16, "mul8u_17C8");
//   auto drum = amgrad::nn::make_backend(amgrad::parse_model_spec("drum:4"), amgrad::u8::format,
//                                        "lut1d");
//   auto low = amgrad::nn::make_backend(lut, "lut2d_lowrank", {.hws = 16, .rank_tolerance = 0.01});
#include <cmath>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "amgrad/gradient/builtin.hpp"
#include "amgrad/gradient/lut2d_lowrank.hpp"
#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/multiplier/table_multiplier.hpp"
#include "amgrad/torch/backend.hpp"

namespace amgrad::nn {

// The schemes a backend can be named by at run time: the built-in ones, and lut2d_lowrank<>
// where LAPACKE is linked (its SVD needs it, so it stays out of builtin_schemes, which every
// consumer of the library sees).
#if AMGRAD_HAS_LAPACKE
using runtime_schemes = decltype(amgrad::concat(builtin_schemes{}, type_list<lut2d_lowrank<>>{}));
#else
using runtime_schemes = builtin_schemes;
#endif

// What a scheme named at run time is configured with; each value goes to the schemes that have
// the member (hws: LUT-2D, LUT-1D's lut2d_mean rule, low-rank; the rest: low-rank only).
struct scheme_options {
  int hws = auto_hws;
  double rank_tolerance = 0.01;  // relative Frobenius error of each factored table
  int rank = 0;                  // > 0: this rank, not the tolerance's
};

// Calls f(scheme) with the run-time scheme named `name`, configured by `opts`. Throws
// amgrad::error for an unknown name, and for lut2d_lowrank in a build without LAPACKE.
template <class F>
void with_runtime_scheme(std::string_view name, const scheme_options& opts, F&& f) {
  require(AMGRAD_HAS_LAPACKE || name != lut2d_lowrank<>::name, "amgrad::nn::make_backend",
          "the scheme lut2d_lowrank needs LAPACKE for its SVD, and this amgrad was built without "
          "it (on Debian: apt-get install liblapacke-dev, then reconfigure)");
  require(opts.rank >= 0 && std::isfinite(opts.rank_tolerance) && opts.rank_tolerance >= 0,
          "amgrad::nn::make_backend", "the rank (", opts.rank, ") and the rank tolerance (",
          opts.rank_tolerance, ") must be >= 0");
  with_scheme_in(
      runtime_schemes{}, name,
      [&](auto& scheme) {
        if constexpr (requires { scheme.hws; }) scheme.hws = opts.hws;
        if constexpr (requires { scheme.is_low_rank; }) {
          scheme.tolerance = opts.rank_tolerance;
          scheme.rank = opts.rank;
        }
      },
      std::forward<F>(f));
}

// "ste | lut1d | lut2d | lut2d_lowrank", for usage texts.
inline std::string runtime_scheme_usage() { return scheme_usage(runtime_schemes{}); }

// A backend over `lut` (its width and signedness pick the operand type) with the scheme named
// `scheme`, configured by `opts`. Throws amgrad::error for an unknown scheme or an unsupported
// table format.
inline std::shared_ptr<const backend> make_backend(const product_table& lut, std::string_view scheme,
                                                   const scheme_options& opts,
                                                   std::string label = "table") {
  std::shared_ptr<const backend> out;
  with_operand(lut.format(), [&](auto op) {
    using Operand = typename decltype(op)::type;
    with_runtime_scheme(scheme, opts, [&](auto s) {
      out = std::make_shared<const backend_for<table_multiplier, Operand, decltype(s)>>(
          table_multiplier(lut), s, std::move(label));
    });
  });
  return out;
}

// The same with only the half window set (auto_hws: the default for the width).
inline std::shared_ptr<const backend> make_backend(const product_table& lut, std::string_view scheme,
                                                   int hws = auto_hws, std::string label = "table") {
  return make_backend(lut, scheme, scheme_options{hws}, std::move(label));
}

// A built-in model named by a spec ("drum:4"), at `format`, with a scheme named at run time.
inline std::shared_ptr<const backend> make_backend(const model_spec& model, operand_format format,
                                                   std::string_view scheme, int hws = auto_hws) {
  std::string label = model.name;
  for (std::size_t i = 0; i < model.parameters.size(); ++i)
    label += concat(i == 0 ? ":" : ",", model.parameters[i]);
  return make_backend(make_product_table(model, format), scheme, hws, std::move(label));
}

}  // namespace amgrad::nn
