#pragma once
// Host backward kernels, prepared once per gradient scheme. (First cut: the reference kernels;
// the fast kernels replace the bodies without changing these interfaces.)
#include "amgrad/gradient/scheme.hpp"
#include "amgrad/kernel/host/reference.hpp"

namespace amgrad::kernel::host {

// Gradient tables of any scheme: dA, dB through the full 2-D tables.
class backward_table_kernel {
 public:
  explicit backward_table_kernel(gradient_tables g) : g_(std::move(g)) {}
  void da(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    reference::backward_da(g_.da, a, b, dy, out);
  }
  void db(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    reference::backward_db(g_.db, a, b, dy, out);
  }

 private:
  gradient_tables g_;
};

// Separable schemes (STE, LUT-1D): an elementwise map then a float GEMM.
class backward_separable_kernel {
 public:
  explicit backward_separable_kernel(const separable_gradients& g) : tables_(g.expand()) {}
  void da(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    tables_.da(a, b, dy, out);
  }
  void db(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out) const {
    tables_.db(a, b, dy, out);
  }

 private:
  backward_table_kernel tables_;
};

}  // namespace amgrad::kernel::host
