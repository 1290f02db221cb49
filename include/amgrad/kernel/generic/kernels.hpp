#pragma once
// The generic path: forward and backward through Thrust algorithms, one call site for every
// Thrust backend. The execution policy is the backend choice: thrust::cpp::par or
// thrust::omp::par from any C++ compiler, thrust::cuda::par(.on(stream)) from nvcc with device
// pointers. One output element per work item, looping over the reduction in the plain order of
// the reference kernel; it is slower than the dedicated kernels and exists for portability and
// as a second reference (the forward equals kernel::reference bit for bit; the backward
// accumulates in double, as the reference does).
//
// The namespace is `generic` rather than `thrust` so that `thrust::` keeps meaning ::thrust.
#include <cstdint>
#include <type_traits>
#include <vector>

#include <thrust/copy.h>
#include <thrust/device_vector.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "amgrad/config.hpp"
#include "amgrad/table/gradient_tables.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad::detail {

template <class Acc>
struct forward_element {
  const std::int32_t* lut;
  int bits;
  matrix_view<const code_t> a;
  matrix_view<const code_t> b;
  matrix_view<Acc> y;

  AMGRAD_HOST_DEVICE void operator()(std::int64_t index) const {
    const auto cols = static_cast<std::int64_t>(y.cols);
    const auto i = static_cast<std::size_t>(index / cols), j = static_cast<std::size_t>(index % cols);
    std::int64_t sum = 0;
    for (std::size_t k = 0; k < a.cols; ++k)
      sum += lut[(static_cast<std::int32_t>(a(i, k)) << bits) + b(k, j)];
    y(i, j) = static_cast<Acc>(sum);
  }
};

// out(p, q) = sum_r W(p, r) * T[F(p, q)][C(r, q)] (dA: W = dY, F = A, C = B^T; dB: transposed).
struct backward_element {
  const float* table;
  int bits;
  matrix_view<const float> w;
  matrix_view<const code_t> f;
  matrix_view<const code_t> c;
  matrix_view<float> out;

  AMGRAD_HOST_DEVICE void operator()(std::int64_t index) const {
    const auto cols = static_cast<std::int64_t>(out.cols);
    const auto p = static_cast<std::size_t>(index / cols), q = static_cast<std::size_t>(index % cols);
    const float* row = table + (static_cast<std::int32_t>(f(p, q)) << bits);
    double sum = 0;
    for (std::size_t r = 0; r < w.cols; ++r)
      sum += static_cast<double>(w(p, r)) * static_cast<double>(row[c(r, q)]);
    out(p, q) = static_cast<float>(sum);
  }
};

template <class Policy, class F>
void for_each_index(const Policy& exec, std::int64_t n, F f) {
  if (n > 0) ::thrust::for_each_n(exec, ::thrust::counting_iterator<std::int64_t>(0), n, f);
}

}  // namespace amgrad::detail

namespace amgrad::kernel::generic {

// Y = sum_k LUT[A][B] with `lut` the 2^B x 2^B int32 table in memory the policy's backend
// reads. Acc is int32_t or int64_t (accumulated in int64, then converted, like the reference).
template <class Policy, class Acc>
void forward(const Policy& exec, const std::int32_t* lut, operand_format format,
             matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<Acc> y) {
  static_assert(std::is_same_v<Acc, std::int32_t> || std::is_same_v<Acc, std::int64_t>,
                "amgrad::kernel::generic::forward accumulates in int32_t or int64_t");
  amgrad::detail::require_gemm_shapes("amgrad::kernel::generic::forward", a, b, y);
  amgrad::detail::for_each_index(exec, static_cast<std::int64_t>(y.rows * y.cols),
                         amgrad::detail::forward_element<Acc>{lut, format.bits, a, b, y});
}

// dA[i][k] = sum_j dY[i][j] * Ga[A[i][k]][B[k][j]]; `ga` the float table, [a][b].
template <class Policy>
void backward_da(const Policy& exec, const float* ga, operand_format format,
                 matrix_view<const code_t> a, matrix_view<const code_t> b,
                 matrix_view<const float> dy, matrix_view<float> da) {
  constexpr const char* where = "amgrad::kernel::generic::backward_da";
  amgrad::detail::require_da_shapes(where, a, b, dy, da);
  amgrad::detail::for_each_index(exec, static_cast<std::int64_t>(da.rows * da.cols),
                         amgrad::detail::backward_element{ga, format.bits, dy, a, b.transposed(), da});
}

// dB[k][j] = sum_i dY[i][j] * Gb[A[i][k]][B[k][j]]; `gb_transposed` holds Gb as [b][a].
template <class Policy>
void backward_db(const Policy& exec, const float* gb_transposed, operand_format format,
                 matrix_view<const code_t> a, matrix_view<const code_t> b,
                 matrix_view<const float> dy, matrix_view<float> db) {
  constexpr const char* where = "amgrad::kernel::generic::backward_db";
  amgrad::detail::require_db_shapes(where, a, b, dy, db);
  amgrad::detail::for_each_index(exec, static_cast<std::int64_t>(db.rows * db.cols),
                         amgrad::detail::backward_element{gb_transposed, format.bits, dy.transposed(),
                                                  b.transposed(), a, db.transposed()});
}

// The tables of one AppMult copied once into the memory of Thrust's device system
// (THRUST_DEVICE_SYSTEM: CUDA, OMP or CPP), with the calls that use them.
class tables {
 public:
  tables(const product_table& lut, const gradient_tables& g)
      : format_(lut.format()),
        lut_(lut.values().begin(), lut.values().end()),
        da_(g.da.values().begin(), g.da.values().end()),
        db_t_(transpose(g.db)) {
    amgrad::require(g.da.format() == format_ && g.db.format() == format_,
                            "amgrad::kernel::generic::tables",
                            "the gradient tables do not have the product table's format");
  }

  operand_format format() const { return format_; }

  // Any policy of the device system: thrust::device, thrust::cuda::par.on(s), thrust::omp::par...
  template <class Policy, class Acc>
  void forward(const Policy& exec, matrix_view<const code_t> a, matrix_view<const code_t> b,
               matrix_view<Acc> y) const {
    generic::forward(exec, ::thrust::raw_pointer_cast(lut_.data()), format_, a, b, y);
  }
  template <class Policy>
  void backward_da(const Policy& exec, matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da) const {
    generic::backward_da(exec, ::thrust::raw_pointer_cast(da_.data()), format_, a, b, dy, da);
  }
  template <class Policy>
  void backward_db(const Policy& exec, matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db) const {
    generic::backward_db(exec, ::thrust::raw_pointer_cast(db_t_.data()), format_, a, b, dy, db);
  }

 private:
  static std::vector<float> transpose(const gradient_table& g) {
    std::vector<float> out(g.size());
    for (int x = 0; x < g.side(); ++x)
      for (int y = 0; y < g.side(); ++y)
        out[static_cast<std::size_t>(y) * static_cast<std::size_t>(g.side()) + x] = g(x, y);
    return out;
  }

  operand_format format_;
  ::thrust::device_vector<std::int32_t> lut_;
  ::thrust::device_vector<float> da_;
  ::thrust::device_vector<float> db_t_;
};

}  // namespace amgrad::kernel::generic
