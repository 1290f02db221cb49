#pragma once
// Shared test helpers: random operands, naive loops over a model, and the Hana lists of
// configurations that tests iterate over instead of copy-pasting.
#include <doctest/doctest.h>

#include <boost/hana.hpp>
#include <cstdint>
#include <random>
#include <vector>

#include "amgrad/amgrad.hpp"

namespace hana = boost::hana;

namespace amgrad::test {


// Every operand the forward tests cover: {4, 6, 7, 8} bits x {unsigned, signed}.
inline constexpr auto all_operands = hana::tuple_t<u4, u6, u7, u8, s4, s6, s7, s8>;

inline std::mt19937_64& rng() {
  static std::mt19937_64 engine{0x5eedu};
  return engine;
}

inline std::size_t random_size(std::size_t lo, std::size_t hi) {
  return std::uniform_int_distribution<std::size_t>(lo, hi)(rng());
}

template <class Operand>
std::vector<code_t> random_codes(std::size_t n) {
  std::uniform_int_distribution<int> dist(0, Operand::size - 1);
  std::vector<code_t> out(n);
  for (auto& c : out) c = static_cast<code_t>(dist(rng()));
  return out;
}

inline std::vector<float> random_floats(std::size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> out(n);
  for (auto& x : out) x = dist(rng());
  return out;
}

// The naive triple loop over the model itself (not over a table): the ground truth.
template <class Operand, class Model>
std::vector<std::int64_t> naive_forward(const Model& model, const std::vector<code_t>& a,
                                        const std::vector<code_t>& b, std::size_t m,
                                        std::size_t n, std::size_t k) {
  std::vector<std::int64_t> y(m * n, 0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t p = 0; p < k; ++p)
        y[i * n + j] += model(Operand{}, Operand::value(a[i * k + p]), Operand::value(b[p * n + j]));
  return y;
}

// A row-major rows x cols code matrix stored the other way (cols x rows): the transposed-B input.
inline std::vector<code_t> transposed_codes(const std::vector<code_t>& m, std::size_t rows,
                                            std::size_t cols) {
  std::vector<code_t> t(rows * cols);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) t[c * rows + r] = m[r * cols + c];
  return t;
}

}  // namespace amgrad::test
