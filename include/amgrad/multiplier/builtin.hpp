#pragma once
// The built-in multiplier models, listed once. Tools, the LibTorch registry, `retrain`, the
// tests and the README's model table are generated from or checked against `builtin_models`.
//
//   model                 parameters        signed          reference
//   exact                 -                 two's compl.    -
//   truncated{k}          dropped columns   sign-magnitude  Wires et al., FPL 2001
//   bam{hbl, vbl}         break levels      sign-magnitude  Mahdiani et al., TCAS-I 2010
//   drum{k}               kept bits         sign-magnitude  Hashemi et al., ICCAD 2015
//   mitchell{}            -                 sign-magnitude  Mitchell, IRE Trans. EC 1962
//   kulkarni{}            -                 sign-magnitude  Kulkarni et al., VLSI Design 2011
//   etm{k}                low-part width    unsigned only   Kyaw et al., EDSSC 2010
//   perforated{i, n}      omitted rows      unsigned only   Zervakis et al., TVLSI 2016
//
// A model spec names one at run time: "drum:3", "bam:8,2", "exact" (name, then the
// constructor's integer arguments, in the order of the model's `parameters`).
#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/multiplier/bam.hpp"
#include "amgrad/multiplier/drum.hpp"
#include "amgrad/multiplier/etm.hpp"
#include "amgrad/multiplier/exact.hpp"
#include "amgrad/multiplier/kulkarni.hpp"
#include "amgrad/multiplier/mitchell.hpp"
#include "amgrad/multiplier/perforated.hpp"
#include "amgrad/multiplier/product_table.hpp"
#include "amgrad/multiplier/truncated.hpp"
#include "amgrad/operand.hpp"
#include "amgrad/type_list.hpp"

namespace amgrad {

// Adding a model: write its header (name, supports_signed, parameters, constexpr constructor
// from ints, operator()), add it here, add its row to the README's table, add it to
// tests/support_models.hpp. The tests fail until all four agree.
using builtin_models =
    type_list<exact, truncated, bam, drum, mitchell, kulkarni, etm, perforated>;

// A model named at run time: "drum:3" -> {"drum", {3}}.
struct model_spec {
  std::string name;
  std::vector<int> parameters;
};

// Parses "name[:p1[,p2...]]" (decimal integers, no spaces). Throws amgrad::error.
inline model_spec parse_model_spec(std::string_view text) {
  constexpr const char* where = "amgrad::parse_model_spec";
  const auto colon = text.find(':');
  model_spec spec{std::string(text.substr(0, colon)), {}};
  require(!spec.name.empty(), where, "'", text, "' has no model name");
  if (colon == std::string_view::npos) return spec;
  std::string_view rest = text.substr(colon + 1);
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view token = rest.substr(0, comma);
    int value = 0;
    const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    require(ec == std::errc{} && end == token.data() + token.size() && !token.empty(), where,
            "parameter '", token, "' of '", text, "' is not a decimal integer");
    spec.parameters.push_back(value);
    if (comma == std::string_view::npos) return spec;
    rest = rest.substr(comma + 1);
  }
}

// "drum:k": how a model is spelled in a spec, from its parameter names.
template <class Model>
std::string model_usage() {
  std::string out = Model::name;
  for (std::size_t i = 0; i < Model::parameters.size(); ++i)
    out += concat(i == 0 ? ":" : ",", Model::parameters[i]);
  return out;
}

// Every built-in model's spelling, for usage texts: "exact | truncated:k | bam:hbl,vbl | ...".
inline std::string builtin_model_usage() {
  std::string out;
  for_each_type(builtin_models{}, [&](auto t) {
    out += (out.empty() ? "" : " | ") + model_usage<typename decltype(t)::type>();
  });
  return out;
}

namespace detail {
template <class Model, std::size_t... I>
Model construct_model(const std::vector<int>& p, std::index_sequence<I...>) {
  return Model(p[I]...);
}
}  // namespace detail

// Constructs the built-in model a spec names (its constructor validates the values) and calls
// f(model). Throws amgrad::error for an unknown name or a wrong number of parameters.
template <class F>
void with_builtin_model(const model_spec& spec, F&& f) {
  constexpr const char* where = "amgrad::with_builtin_model";
  bool found = false;
  for_each_type(builtin_models{}, [&](auto t) {
    using Model = typename decltype(t)::type;
    if (found || spec.name != Model::name) return;
    found = true;
    constexpr std::size_t arity = Model::parameters.size();
    require(spec.parameters.size() == arity, where, "model ", Model::name, " takes ", arity,
            " parameter(s) (", model_usage<Model>(), "), got ", spec.parameters.size());
    f(detail::construct_model<Model>(spec.parameters, std::make_index_sequence<arity>{}));
  });
  require(found, where, "unknown model '", spec.name, "' (built-in: ", builtin_model_usage(), ")");
}

// The truth table of a built-in model for a run-time operand format. Throws amgrad::error for
// an unknown model, a wrong parameter, or a signed format on an unsigned-only model.
inline product_table make_product_table(const model_spec& spec, operand_format format) {
  product_table out;
  with_builtin_model(spec, [&](const auto& model) {
    using Model = std::decay_t<decltype(model)>;
    with_operand(format, [&](auto op) {
      using Operand = typename decltype(op)::type;
      if constexpr (defined_for<Model, Operand>)
        out = make_product_table<Operand>(model);
      else
        fail("amgrad::make_product_table", "model ", Model::name,
             " has no signed definition; use an unsigned operand");
    });
  });
  return out;
}

// Whether `name` is the name of a built-in model.
constexpr bool is_builtin_model(std::string_view name) {
  bool found = false;
  for_each_type(builtin_models{}, [&](auto t) { found |= name == decltype(t)::type::name; });
  return found;
}

}  // namespace amgrad
