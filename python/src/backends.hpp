#pragma once
// The run-time backends of the Python extension: a truth table and a fully specified scheme
// (name, half window, LUT-1D rate rule, LUT-2D boundary rule) -> amgrad::nn::backend.
#include <memory>
#include <string>

#include "amgrad/table/table.hpp"
#include "amgrad/torch/backend.hpp"

namespace amgrad::python {

struct scheme_spec {
  std::string name = "ste";
  int hws = -1;                          // amgrad::auto_hws
  std::string rule = "signed_range";     // lut1d: signed_range | secant | lut2d_mean | least_squares
  std::string boundary = "eq6";          // lut2d: eq6 | published
};

std::shared_ptr<const nn::backend> make_backend(const product_table& lut, const scheme_spec& s,
                                                const std::string& label);
gradient_tables scheme_tables(const product_table& lut, const scheme_spec& s);

}  // namespace amgrad::python
