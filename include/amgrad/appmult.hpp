#pragma once
// appmult<Model, Operand, Scheme>: one AppMult design, instantiated once. It builds the truth
// table and the gradient estimates at construction and runs the best host kernel for the
// policies; the kernels validate every call (shapes, codes of the operand's width, int32 depth).
#include <cstdint>
#include <utility>

#include "amgrad/gradient/scheme.hpp"
#include "amgrad/kernel/host/backward.hpp"
#include "amgrad/kernel/host/forward.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/multiplier/model.hpp"
#include "amgrad/table/product_table.hpp"

namespace amgrad {

namespace detail {

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
    forward_(a, b, y);
  }

  // dA[i][k] = sum_j dY[i][j] * dAM/da(A[i][k], B[k][j])
  void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da) const {
    backward_.da(a, b, dy, da);
  }

  // dB[k][j] = sum_i dY[i][j] * dAM/db(A[i][k], B[k][j])
  void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db) const {
    backward_.db(a, b, dy, db);
  }

 private:
  Model model_;
  Scheme scheme_;
  product_table lut_;
  kernel::host::forward_kernel forward_;
  decltype(detail::make_backward_kernel(std::declval<const Scheme&>(),
                                        std::declval<const product_table&>(), 0)) backward_;
};

}  // namespace amgrad
