#pragma once
// appmult<Model, Operand, Scheme>: one AppMult design, instantiated once. It builds the truth
// table and the gradient estimates at construction, validates every call at the boundary, and
// runs the best host kernel for the policies.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "amgrad/gradient/scheme.hpp"
#include "amgrad/kernel/host/backward.hpp"
#include "amgrad/kernel/host/forward.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/multiplier/model.hpp"
#include "amgrad/table/product_table.hpp"

namespace amgrad {

namespace detail {

// Codes at or above 2^B would index past the table: a silent wrong result, so refuse them.
template <class Operand>
void require_codes(const char* where, const char* what, const matrix_view<const code_t>& m) {
  if constexpr (Operand::bits < 8) {
    for (std::size_t r = 0; r < m.rows; ++r)
      for (std::size_t c = 0; c < m.cols; ++c)
        require(m(r, c) < Operand::size, where, what, "(", r, ", ", c, ") = ", int{m(r, c)},
                " is not a ", Operand::bits, "-bit code");
  }
}

inline std::int64_t max_abs(const product_table& lut) {
  std::int64_t m = 0;
  for (auto v : lut.values()) m = std::max<std::int64_t>(m, v < 0 ? -std::int64_t{v} : v);
  return m;
}

template <class Scheme>
auto make_backward_kernel(const Scheme& scheme, const product_table& lut, int threads) {
  if constexpr (Scheme::is_separable)
    return kernel::host::backward_separable_kernel(scheme.factors(lut), threads);
  else
    return kernel::host::backward_table_kernel(scheme.tables(lut), threads);
}

}  // namespace detail

template <class Model, class Operand, class Scheme>
class appmult {
 public:
  using model_type = Model;
  using operand_type = Operand;
  using scheme_type = Scheme;

  // threads: host kernel threads; 0 means the runtime's default (OMP_NUM_THREADS, else the
  // hardware concurrency).
  explicit appmult(Model model = Model{}, Scheme scheme = Scheme{}, int threads = 0)
      : model_(std::move(model)),
        scheme_(std::move(scheme)),
        lut_(make_product_table<Operand>(model_)),
        max_abs_product_(detail::max_abs(lut_)),
        forward_(lut_, threads),
        backward_(detail::make_backward_kernel(scheme_, lut_, threads)) {
    check_model<Model, Operand>();
    check_scheme<Scheme>();
  }

  const Model& model() const { return model_; }
  const Scheme& scheme() const { return scheme_; }
  const product_table& lut() const { return lut_; }
  gradient_tables gradients() const { return scheme_.tables(lut_); }
  void set_threads(int threads) {
    forward_.set_threads(threads);
    backward_.set_threads(threads);
  }

  // Y = sum_k AM(A[i][k], B[k][j]); Acc is int32_t or int64_t. Throws if int32 could overflow.
  template <class Acc>
  void forward(matrix_view<const code_t> a, matrix_view<const code_t> b,
               matrix_view<Acc> y) const {
    constexpr const char* where = "amgrad::appmult::forward";
    check_operands(where, a, b);
    detail::require_gemm_shapes(where, a, b, y);
    if constexpr (std::is_same_v<Acc, std::int32_t>)
      detail::require(static_cast<std::int64_t>(a.cols) * max_abs_product_ <=
                          std::numeric_limits<std::int32_t>::max(),
                      where, "K = ", a.cols, " can overflow an int32 accumulator (max |AM| = ",
                      max_abs_product_, "); use an int64_t output");
    forward_(a, b, y);
  }

  // dA[i][k] = sum_j dY[i][j] * dAM/da(A[i][k], B[k][j])
  void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da) const {
    constexpr const char* where = "amgrad::appmult::backward_da";
    check_operands(where, a, b);
    detail::require_gemm_shapes(where, a, b, dy);
    detail::require_same_shape(where, "dA", da, a);
    backward_.da(a, b, dy, da);
  }

  // dB[k][j] = sum_i dY[i][j] * dAM/db(A[i][k], B[k][j])
  void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db) const {
    constexpr const char* where = "amgrad::appmult::backward_db";
    check_operands(where, a, b);
    detail::require_gemm_shapes(where, a, b, dy);
    detail::require_same_shape(where, "dB", db, b);
    backward_.db(a, b, dy, db);
  }

 private:
  static void check_operands(const char* where, const matrix_view<const code_t>& a,
                             const matrix_view<const code_t>& b) {
    detail::require_codes<Operand>(where, "A", a);
    detail::require_codes<Operand>(where, "B", b);
  }

  Model model_;
  Scheme scheme_;
  product_table lut_;
  std::int64_t max_abs_product_;
  kernel::host::forward_kernel forward_;
  decltype(detail::make_backward_kernel(std::declval<const Scheme&>(),
                                        std::declval<const product_table&>(), 0)) backward_;
};

}  // namespace amgrad
