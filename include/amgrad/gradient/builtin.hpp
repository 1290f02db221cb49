#pragma once
// The built-in gradient schemes, listed once, and a scheme named at run time.
#include <string>
#include <string_view>

#include "amgrad/error.hpp"
#include "amgrad/gradient/lut1d.hpp"
#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/gradient/ste.hpp"
#include "amgrad/type_list.hpp"

namespace amgrad {

using builtin_schemes = type_list<ste, lut1d, lut2d>;

// "ste | lut1d | lut2d", for usage texts.
inline std::string builtin_scheme_usage() {
  std::string out;
  for_each_type(builtin_schemes{}, [&](auto t) {
    out += (out.empty() ? "" : " | ") + std::string(decltype(t)::type::name);
  });
  return out;
}

// Calls f(scheme) with the built-in scheme named `name`, default-constructed, its half window
// size set to `hws` where it has one. Throws amgrad::error for an unknown name.
template <class F>
void with_scheme(std::string_view name, int hws, F&& f) {
  bool found = false;
  for_each_type(builtin_schemes{}, [&](auto t) {
    using Scheme = typename decltype(t)::type;
    if (found || name != Scheme::name) return;
    found = true;
    Scheme scheme{};
    if constexpr (requires { scheme.hws; }) scheme.hws = hws;
    f(scheme);
  });
  require(found, "amgrad::with_scheme", "unknown gradient scheme '", name, "' (built-in: ",
          builtin_scheme_usage(), ")");
}

}  // namespace amgrad
