#pragma once
// Backends picked at run time, generated from the library's lists (every operand type x every
// built-in scheme, over a run-time truth table): any table, read from one of the three file
// formats or made from a built-in model spec, with a scheme named at run time.
//
//   auto be = amgrad::nn::make_backend(amgrad::read_product_table("mul8u_17C8.txt.gz"),
//                                      "lut2d", 16, "mul8u_17C8");
//   auto drum = amgrad::nn::make_backend(amgrad::parse_model_spec("drum:4"), amgrad::u8::format,
//                                        "lut1d");
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "amgrad/gradient/builtin.hpp"
#include "amgrad/multiplier/builtin.hpp"
#include "amgrad/multiplier/table_multiplier.hpp"
#include "amgrad/torch/backend.hpp"

namespace amgrad::nn {

// A backend over `lut` (its width and signedness pick the operand type) with the scheme named
// `scheme`; hws sets LUT-2D's half window (auto_hws: the default for the width). Throws
// amgrad::error for an unknown scheme or an unsupported table format.
inline std::shared_ptr<const backend> make_backend(const product_table& lut, std::string_view scheme,
                                                   int hws = auto_hws, std::string label = "table") {
  std::shared_ptr<const backend> out;
  with_operand(lut.format(), [&](auto op) {
    using Operand = typename decltype(op)::type;
    with_scheme(scheme, hws, [&](auto s) {
      out = std::make_shared<const backend_for<table_multiplier, Operand, decltype(s)>>(
          table_multiplier(lut), s, std::move(label));
    });
  });
  return out;
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
