#pragma once
// appmult<Model, Operand, Scheme, Backend>: one AppMult design, instantiated once. It builds the
// truth table and the gradient estimates from the policies at construction, prepares the
// backend's kernels (dispatch.hpp) and runs them. Every call is validated by the kernels
// (shapes, codes of the operand's width, int32 depth); a const appmult may be used from several
// threads at once.
//
//   amgrad::appmult<amgrad::drum, amgrad::u8, amgrad::lut2d> m{amgrad::drum{4}};    // host
//   amgrad::appmult<amgrad::drum, amgrad::u8, amgrad::lut2d, amgrad::device> d{...}; // nvcc
//   d.forward(a, b, y, stream);    // extra arguments go to the backend
#include <concepts>
#include <utility>

#include "amgrad/backend.hpp"
#include "amgrad/concepts.hpp"
#include "amgrad/dispatch.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/multiplier/model.hpp"
#include "amgrad/multiplier/product_table.hpp"
#include "amgrad/table/gradient_tables.hpp"

namespace amgrad {

template <class Model, class Operand, class Scheme, class Backend = host>
class appmult {
  static_assert(detail::checked_model<Model, Operand>());
  static_assert(gradient_scheme<Scheme>,
                "amgrad: a gradient scheme needs `static constexpr const char* name`, "
                "`static constexpr bool is_separable` and "
                "`gradient_tables tables(const product_table&) const`");
  static_assert(consistent_scheme<Scheme>,
                "amgrad: a separable gradient scheme needs "
                "`separable_gradients factors(const product_table&) const`");

 public:
  using model_type = Model;
  using operand_type = Operand;
  using scheme_type = Scheme;
  using backend_type = Backend;

  explicit appmult(Model model = Model{}, Scheme scheme = Scheme{}, Backend backend = Backend{})
      : model_(std::move(model)),
        scheme_(std::move(scheme)),
        lut_(make_product_table<Operand>(model_)),
        kernels_(lut_, scheme_, backend) {}

  const Model& model() const { return model_; }
  const Scheme& scheme() const { return scheme_; }
  const product_table& lut() const { return lut_; }
  gradient_tables gradients() const { return scheme_.tables(lut_); }
  // The backend's prepared kernels (which path a shape runs on, for tests and logs).
  const kernels<Backend, Scheme>& backend_kernels() const { return kernels_; }

  // Y[i][j] = sum_k AM(A[i][k], B[k][j]); Acc is int32_t or int64_t on the host (int32_t on
  // CUDA). Throws if an int32 accumulator could overflow.
  template <class Acc, class... On>
  void forward(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<Acc> y,
               const On&... on) const {
    kernels_.forward(a, b, y, on...);
  }

  // dA[i][k] = sum_j dY[i][j] * dAM/da(A[i][k], B[k][j])
  template <class... On>
  void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da, const On&... on) const {
    kernels_.backward_da(a, b, dy, da, on...);
  }

  // dB[k][j] = sum_i dY[i][j] * dAM/db(A[i][k], B[k][j])
  template <class... On>
  void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db, const On&... on) const {
    kernels_.backward_db(a, b, dy, db, on...);
  }

  // Host: the kernels' thread count (0: the runtime's default). Not while calls are running.
  void set_threads(int threads)
    requires std::same_as<Backend, host>
  {
    kernels_.set_threads(threads);
  }

  // CUDA: throws if device memory `m` holds a code that is not a valid Operand code.
  // SYNCHRONISES the stream.
  template <class... On>
  void check_codes(const char* what, matrix_view<const code_t> m, const On&... on) const
    requires std::same_as<Backend, device>
  {
    kernels_.check_codes(what, m, on...);
  }

 private:
  Model model_;
  Scheme scheme_;
  product_table lut_;
  kernels<Backend, Scheme> kernels_;
};

}  // namespace amgrad
