#pragma once
// The built-in models with typical parameters, for tests that iterate over every model.
// Parameters are chosen so that every model is approximate already at 4 bits.
#include <boost/hana.hpp>

#include "amgrad/multiplier/builtin.hpp"
#include "support.hpp"

namespace amgrad::test {

inline constexpr auto all_models =
    hana::make_tuple(exact{}, truncated{4}, bam{1, 4}, drum{3}, mitchell{}, kulkarni{}, etm{3},
                     perforated{1, 2});

// Whether the model has a definition for the operand (unsigned-only models refuse signed ones).
template <class Model, class Operand>
inline constexpr bool model_supports = Model::supports_signed || !Operand::is_signed;

// Calls f(model, hana::type_c<Operand>) for every model in `models` and every operand in
// `operands` that the model supports; unsupported pairs are skipped at compile time, so a
// signed instantiation of an unsigned-only model is never compiled.
template <class Models, class Operands, class F>
void for_each_supported(const Models& models, Operands operands, F&& f) {
  hana::for_each(models, [&](const auto& model) {
    hana::for_each(operands, [&](auto t) {
      using Model = std::decay_t<decltype(model)>;
      using Operand = typename decltype(t)::type;
      if constexpr (model_supports<Model, Operand>) f(model, t);
    });
  });
}

}  // namespace amgrad::test
