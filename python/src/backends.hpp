#pragma once
// The run-time backends of the Python extension: a truth table and a fully specified scheme
// (name, half window, LUT-1D rate rule, LUT-2D boundary rule, low-rank rank or tolerance) ->
// amgrad::nn::backend.
#include <memory>
#include <string>

#include "amgrad/gradient/lut2d_lowrank.hpp"
#include "amgrad/table/table.hpp"
#include "amgrad/torch/backend.hpp"

namespace amgrad::python {

struct scheme_spec {
  std::string name = "ste";
  int hws = -1;                          // amgrad::auto_hws
  std::string rule = "signed_range";     // lut1d: signed_range | secant | lut2d_mean | least_squares
  std::string boundary = "eq6";          // lut2d, lut2d_lowrank: eq6 | published
  int rank = 0;                          // lut2d_lowrank: > 0 fixes the rank, 0: from the tolerance
  double rank_tolerance = 0.01;          // lut2d_lowrank: relative Frobenius error per table
};

std::shared_ptr<const nn::backend> make_backend(const product_table& lut, const scheme_spec& s,
                                                const std::string& label);
gradient_tables scheme_tables(const product_table& lut, const scheme_spec& s);
// The factors of lut2d_lowrank (hws, boundary, rank, rank_tolerance of the spec); amgrad::error
// where amgrad was built without LAPACKE.
low_rank_gradients scheme_low_rank(const product_table& lut, const scheme_spec& s);

}  // namespace amgrad::python
