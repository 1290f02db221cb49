#pragma once
// Forward GEMM for wide operands without a table: Y[i][j] = sum_k AM(A[i][k], B[k][j]), the model
// evaluated per MAC in int64 (bit-exact). Rows of Y are split over threads; the inner loop runs
// along a row of B with the a value fixed, in the model family's row kernel (row_kernels.hpp):
// separable models (exact, DRUM), masked partial products (truncation, BAM) and Mitchell map B
// once per element and run a branch-free loop the compiler vectorises; the other models evaluate
// wide::multiply per MAC (scalar).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/wide/multiply.hpp"
#include "amgrad/wide/operand.hpp"
#include "amgrad/wide/row_kernels.hpp"

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
  const auto kernel = detail::make_row_kernel<Operand>(model, b, k * n);
  // Columns in blocks, so the block of Y (8 KiB) stays in L1 while k runs over it.
  constexpr std::size_t block = 1024;
  const auto rows = [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) {
      std::int64_t* out = y + i * n;
      std::fill(out, out + n, std::int64_t{0});
      for (std::size_t j = 0; j < n; j += block)
        for (std::size_t p = 0; p < k; ++p)
          kernel.add(out + j, Operand::value(a[i * k + p]), p * n + j, std::min(block, n - j));
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
