#pragma once
// Forward GEMM for wide operands without a table: Y[i][j] = sum_k AM(A[i][k], B[k][j]), the model
// evaluated per MAC in int64 (bit-exact). Rows of Y are split over threads; the inner loop runs
// along a row of B with the a value fixed. Separable models (exact, DRUM: AM = f(a) f(b)) map
// each element once and run a plain int64 multiply-add the compiler vectorises; the others
// evaluate the model per MAC (scalar).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/wide/multiply.hpp"
#include "amgrad/wide/operand.hpp"

namespace amgrad::wide {

namespace detail {
template <class Operand>
void require_codes(const code_t* x, std::size_t rows, std::size_t cols, const char* name,
                   const char* where = "amgrad::wide::forward") {
  for (std::size_t i = 0; i < rows * cols; ++i)
    if (x[i] >= Operand::size)
      amgrad::fail(where, name, "(", i / cols, ", ", i % cols, ") = ", x[i],
                   " is not a ", Operand::bits, "-bit code");
}
}  // namespace detail

// Row-major A (M x K), B (K x N), Y (M x N). threads = 0: hardware concurrency.
template <class Operand, class Model>
void forward(const Model& model, const code_t* a, const code_t* b, std::int64_t* y, std::size_t m,
             std::size_t k, std::size_t n, unsigned threads = 0) {
  detail::require_codes<Operand>(a, m, k, "A");
  detail::require_codes<Operand>(b, k, n, "B");
  // Separable models, AM = f(a) f(b) (exact; DRUM: each operand rounded on its own, sign
  // applied): f is applied once per element and the MAC loop is a plain int64 multiply-add.
  constexpr bool separable =
      std::is_same_v<Model, amgrad::exact> || std::is_same_v<Model, amgrad::drum>;
  const auto f = [&](int v) -> std::int64_t {
    if constexpr (std::is_same_v<Model, amgrad::drum>) {
      const auto m = static_cast<std::int64_t>(
          fast_unsigned_product(model, Operand::bits, static_cast<std::uint32_t>(v < 0 ? -v : v), 1u));
      return v < 0 ? -m : m;
    } else {
      return v;
    }
  };
  std::vector<int> bv(k * n);
  std::vector<std::int64_t> bf(separable ? k * n : 0);
  for (std::size_t i = 0; i < k * n; ++i) {
    bv[i] = Operand::value(b[i]);
    if constexpr (separable) bf[i] = f(bv[i]);
  }
  const auto rows = [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) {
      std::int64_t* out = y + i * n;
      std::fill(out, out + n, std::int64_t{0});
      for (std::size_t p = 0; p < k; ++p) {
        const int av = Operand::value(a[i * k + p]);
        if constexpr (separable) {
          const std::int64_t fa = f(av);
          const std::int64_t* brow = bf.data() + p * n;
          for (std::size_t j = 0; j < n; ++j) out[j] += fa * brow[j];
        } else {
          const int* brow = bv.data() + p * n;
          for (std::size_t j = 0; j < n; ++j) out[j] += amgrad::wide::multiply<Operand>(model, av, brow[j]);
        }
      }
    }
  };
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(m, 1)));
  if (threads <= 1) return rows(0, m);
  std::vector<std::thread> pool;
  const std::size_t chunk = (m + threads - 1) / threads;
  for (unsigned t = 0; t < threads; ++t) {
    const std::size_t lo = t * chunk, hi = std::min(m, lo + chunk);
    if (lo < hi) pool.emplace_back(rows, lo, hi);
  }
  for (auto& t : pool) t.join();
}

// The scalar reference: the definition, in dot-product order.
template <class Operand, class Model>
void forward_reference(const Model& model, const code_t* a, const code_t* b, std::int64_t* y,
                       std::size_t m, std::size_t k, std::size_t n) {
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      std::int64_t sum = 0;
      for (std::size_t p = 0; p < k; ++p)
        sum += amgrad::wide::multiply<Operand>(model, Operand::value(a[i * k + p]), Operand::value(b[p * n + j]));
      y[i * n + j] = sum;
    }
}

}  // namespace amgrad::wide
