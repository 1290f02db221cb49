#pragma once
// Host forward kernel, prepared once per table: Y[i][j] = sum_k LUT[A[i][k]][B[k][j]].
//
// Chosen at compile time from the target, at run time from the table and the shape:
//   - AVX-512 VBMI row table (detail/avx512_vbmi.hpp) when the target has VBMI and the table's
//     range (max - min) fits 16 bits; it sweeps A's rows instead of B's columns when N is narrow;
//   - the portable row table (row_table.hpp) otherwise, on a 16-bit re-based table when it fits
//     and the int32 table when not. Every path is bit-exact against kernel::reference::forward.
#include <cstdint>
#include <type_traits>

#include "amgrad/kernel/host/detail/avx512_vbmi.hpp"
#include "amgrad/kernel/host/detail/row_table.hpp"
#include "amgrad/kernel/host/threading.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad::kernel::host {
inline namespace AMGRAD_HOST_ABI {

// Which kernel a call runs; for tests, benchmarks and logs.
enum class forward_path { portable_u16, portable_i32, vbmi_columns, vbmi_rows };

inline const char* to_string(forward_path p) {
  switch (p) {
    case forward_path::portable_u16: return "portable row table (u16)";
    case forward_path::portable_i32: return "portable row table (int32)";
    case forward_path::vbmi_columns: return "AVX-512 VBMI row table";
    case forward_path::vbmi_rows: return "AVX-512 VBMI row table, transposed mapping";
  }
  return "?";
}

class forward_kernel {
 public:
  // threads: 0 means the runtime's default (OMP_NUM_THREADS, else the hardware concurrency).
  explicit forward_kernel(const product_table& lut, int threads = 0)
      : tables_(detail::prepare_forward(lut)), threads_(threads) {}

  template <class Acc>
  void operator()(matrix_view<const code_t> a, matrix_view<const code_t> b,
                  matrix_view<Acc> y) const {
    run(path(y.rows, y.cols), a, b, y);
  }

  // Runs a chosen path (tests and benchmarks force each one); `p` must be available().
  template <class Acc>
  void run(forward_path p, matrix_view<const code_t> a, matrix_view<const code_t> b,
           matrix_view<Acc> y) const {
    static_assert(std::is_same_v<Acc, std::int32_t> || std::is_same_v<Acc, std::int64_t>,
                  "amgrad::kernel::host::forward_kernel accumulates in int32_t or int64_t");
    constexpr const char* where = "amgrad::kernel::host::forward_kernel";
    amgrad::require(available(p), where, "the ", to_string(p), " path is not available for this ",
                    "table or build");
    amgrad::detail::require_gemm_shapes(where, a, b, y);
    amgrad::detail::require_codes(where, "A", a, tables_.bits);
    amgrad::detail::require_codes(where, "B", b, tables_.bits);
    if constexpr (std::is_same_v<Acc, std::int32_t>)
      amgrad::detail::require_int32_depth(where, a.cols, tables_.max_abs);
    if (y.rows == 0 || y.cols == 0) return;
    const detail::forward_problem<Acc> prob = problem(p, a, b, y);
    switch (p) {
#if AMGRAD_HAS_AVX512VBMI
      case forward_path::vbmi_columns:
      case forward_path::vbmi_rows: return detail::avx512_vbmi::forward_tiles(prob);
#endif
      default: return detail::portable_forward(prob);
    }
  }

  // The kernel an M x N output runs on.
  forward_path path([[maybe_unused]] std::size_t m, [[maybe_unused]] std::size_t n) const {
#if AMGRAD_HAS_AVX512VBMI
    if (tables_.fits_u16)
      return detail::avx512_vbmi::preferred_mapping(m, n) ==
                     detail::avx512_vbmi::mapping::sweep_rows
                 ? forward_path::vbmi_rows
                 : forward_path::vbmi_columns;
#endif
    return tables_.fits_u16 ? forward_path::portable_u16 : forward_path::portable_i32;
  }

  // Whether this build and table can run path `p`: the 16-bit paths need max - min < 2^16, the
  // VBMI ones a VBMI target.
  bool available(forward_path p) const {
    switch (p) {
      case forward_path::portable_i32: return true;
      case forward_path::portable_u16: return tables_.fits_u16;
      case forward_path::vbmi_columns:
      case forward_path::vbmi_rows: return AMGRAD_HAS_AVX512VBMI && tables_.fits_u16;
    }
    return false;
  }

  int threads() const { return threads_; }
  void set_threads(int threads) { threads_ = threads; }

 private:
  // The one place a call becomes the value its kernels take. The transposed mapping (vbmi_rows,
  // for a narrow N) computes Y^T = B^T (x)' A^T: B^T's codes pick the rows of the transposed
  // table, A^T is swept; the portable int32 path reads the int32 entries, with no base.
  template <class Acc>
  detail::forward_problem<Acc> problem(forward_path p, matrix_view<const code_t> a,
                                       matrix_view<const code_t> b, matrix_view<Acc> y) const {
    const bool t = p == forward_path::vbmi_rows, i32 = p == forward_path::portable_i32;
    return {.rows = t ? b.transposed() : a,
            .panel = detail::contiguous_panel(t ? a.transposed() : b),
            .out = t ? y.transposed() : y,
            .planes = (t ? tables_.planes_t : tables_.planes).data(),
            .u16 = i32 ? nullptr : (t ? tables_.u16_t : tables_.u16).data(),
            .i32 = (t ? tables_.lut_t : tables_.lut).data(),
            .side = tables_.side(),
            .base = i32 ? 0 : tables_.base,
            .bits = tables_.bits,
            .threads = resolve_threads(threads_)};
  }

  detail::forward_tables tables_;
  int threads_;
};

}  // namespace AMGRAD_HOST_ABI
}  // namespace amgrad::kernel::host
