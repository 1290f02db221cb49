#pragma once
// The built-in gradient schemes, listed once, and a scheme named at run time.
#include <string>
#include <string_view>
#include <utility>

#include "amgrad/error.hpp"
#include "amgrad/gradient/lut1d.hpp"
#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/gradient/ste.hpp"
#include "amgrad/type_list.hpp"

namespace amgrad {

using builtin_schemes = type_list<ste, lut1d, lut2d>;

// "ste | lut1d | lut2d" (the names of a list of schemes, builtin_schemes by default), for usage
// texts.
template <class List = builtin_schemes>
std::string scheme_usage(List = {}) {
  std::string out;
  for_each_type(List{}, [&](auto t) {
    out += (out.empty() ? "" : " | ") + std::string(decltype(t)::type::name);
  });
  return out;
}
inline std::string builtin_scheme_usage() { return scheme_usage(builtin_schemes{}); }

// Calls f(scheme) with the scheme of `List` named `name`, default-constructed and then passed to
// set(scheme) (which sets the members the caller has values for). Throws amgrad::error for an
// unknown name.
template <class List, class Set, class F>
void with_scheme_in(List, std::string_view name, Set&& set, F&& f) {
  bool found = false;
  for_each_type(List{}, [&](auto t) {
    using Scheme = typename decltype(t)::type;
    if (found || name != Scheme::name) return;
    found = true;
    Scheme scheme{};
    set(scheme);
    f(scheme);
  });
  require(found, "amgrad::with_scheme", "unknown gradient scheme '", name, "' (known: ",
          scheme_usage(List{}), ")");
}

// Calls f(scheme) with the built-in scheme named `name`, default-constructed, its half window
// size set to `hws` where it has one. Throws amgrad::error for an unknown name.
template <class F>
void with_scheme(std::string_view name, int hws, F&& f) {
  with_scheme_in(
      builtin_schemes{}, name,
      [hws](auto& scheme) {
        if constexpr (requires { scheme.hws; }) scheme.hws = hws;
      },
      std::forward<F>(f));
}

}  // namespace amgrad
