#pragma once
// The one exception type of the library. Inputs are validated at the boundary (files, shapes,
// scales, bit widths); kernels assume valid inputs.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace amgrad {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds a message from anything that streams: concat("K = ", k, " is too deep").
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

// Throws amgrad::error whose message is "<where>: <what...>". Public, so that code built on
// amgrad (framework bindings, tools) reports its own checks the same way.
template <class... Parts>
[[noreturn]] void fail(const char* where, Parts&&... what) {
  throw error(concat(where, ": ", std::forward<Parts>(what)...));
}

template <class... Parts>
void require(bool condition, const char* where, Parts&&... what) {
  if (!condition) fail(where, std::forward<Parts>(what)...);
}

namespace detail {

// A model's or a scheme's integer parameter, checked where it is constructed (constexpr, so a
// literal in range costs nothing and one out of range fails to compile in a constant).
constexpr void require_in_range(const char* where, const char* what, int value, int lo, int hi) {
  if (value < lo || value > hi)
    fail(where, what, " = ", value, " is out of range [", lo, ", ", hi, "]");
}

}  // namespace detail
}  // namespace amgrad
