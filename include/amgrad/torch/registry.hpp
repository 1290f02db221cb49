#pragma once
// A run-time registry over compiled configurations: the Cartesian product of operand types,
// schemes and named models, one picked by name at run time.
#include <torch/torch.h>

#include <boost/hana.hpp>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/torch/backend.hpp"

namespace amgrad::nn {

// ---- run-time registry over compiled configurations ----------------------------------------
//
// The configurations are the Cartesian product of a Hana tuple of operands, a Hana tuple of
// schemes and a list of named models (a model may carry run-time parameters, or load a table
// from a file, so each entry is a name and a factory). make() picks one by name at run time.

template <class Model>
struct model_entry {
  std::string name;
  std::function<Model()> make;
};

template <class Model>
model_entry<Model> entry(std::string name, std::function<Model()> make) {
  return {std::move(name), std::move(make)};
}

}  // namespace amgrad::nn

namespace amgrad::detail {
template <class S>
S scheme_with_hws(int hws) {
  S s{};
  if constexpr (requires { s.hws; })
    if (hws != auto_hws) s.hws = hws;
  return s;
}
}  // namespace amgrad::detail

namespace amgrad::nn {

template <class Operands, class Schemes, class Models>
class registry {
 public:
  registry(Operands, Schemes, Models models) : models_(std::move(models)) {}

  // Throws amgrad::error naming the choices when the configuration is not compiled in.
  std::shared_ptr<const backend> make(const std::string& model, int bits,
                                      const std::string& scheme, int hws = auto_hws) const {
    std::shared_ptr<const backend> out;
    boost::hana::for_each(models_, [&](const auto& m) {
      if (m.name != model) return;
      using Model = typename std::decay_t<decltype(m.make)>::result_type;
      boost::hana::for_each(Operands{}, [&](auto op) {
        using Op = typename decltype(op)::type;
        if (Op::bits != bits) return;
        boost::hana::for_each(Schemes{}, [&](auto sc) {
          using Scheme = typename decltype(sc)::type;
          if (scheme != Scheme::name || out) return;
          out = make_backend<Model, Op, Scheme>(m.make(), detail::scheme_with_hws<Scheme>(hws));
        });
      });
    });
    amgrad::detail::require(out != nullptr, "amgrad::nn::registry", "no compiled configuration ",
                            model, "/", bits, "-bit/", scheme, "; models: ", model_names(),
                            "; schemes: ", scheme_names(), "; bits: ", bit_widths());
    return out;
  }

  std::string model_names() const {
    std::string s;
    boost::hana::for_each(models_, [&](const auto& m) { s += (s.empty() ? "" : " ") + m.name; });
    return s;
  }
  static std::string scheme_names() {
    std::string s;
    boost::hana::for_each(Schemes{}, [&](auto sc) {
      s += (s.empty() ? "" : " ") + std::string(decltype(sc)::type::name);
    });
    return s;
  }
  static std::string bit_widths() {
    std::string s;
    boost::hana::for_each(Operands{}, [&](auto op) {
      s += (s.empty() ? "" : " ") + std::to_string(decltype(op)::type::bits);
    });
    return s;
  }

 private:
  Models models_;
};

}  // namespace amgrad::nn
