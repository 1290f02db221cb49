#pragma once
// A list of types as a value, for the library's one-place lists (operand types, built-in
// models): iterate with for_each_type, look one up at run time with the list's own helpers.
#include <type_traits>

namespace amgrad {

template <class... Ts>
struct type_list {
  static constexpr int size = sizeof...(Ts);
};

// Calls f(std::type_identity<T>{}) for every T in the list, in order.
template <class... Ts, class F>
constexpr void for_each_type(type_list<Ts...>, F&& f) {
  (f(std::type_identity<Ts>{}), ...);
}

template <class... As, class... Bs>
constexpr type_list<As..., Bs...> concat(type_list<As...>, type_list<Bs...>) {
  return {};
}

}  // namespace amgrad
