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
#include "amgrad/kernel/host/row_table.hpp"
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
    static_assert(std::is_same_v<Acc, std::int32_t> || std::is_same_v<Acc, std::int64_t>,
                  "amgrad::kernel::host::forward_kernel accumulates in int32_t or int64_t");
    constexpr const char* where = "amgrad::kernel::host::forward_kernel";
    amgrad::detail::require_gemm_shapes(where, a, b, y);
    amgrad::detail::require_codes(where, "A", a, tables_.bits);
    amgrad::detail::require_codes(where, "B", b, tables_.bits);
    if constexpr (std::is_same_v<Acc, std::int32_t>)
      amgrad::detail::require_int32_depth(where, a.cols, tables_.max_abs);
    switch (path(y.rows, y.cols)) {
#if AMGRAD_HAS_AVX512VBMI
      case forward_path::vbmi_columns:
        detail::avx512_vbmi::forward(tables_, a, b, y, threads_,
                                     detail::avx512_vbmi::mapping::sweep_columns);
        return;
      case forward_path::vbmi_rows:
        detail::avx512_vbmi::forward(tables_, a, b, y, threads_,
                                     detail::avx512_vbmi::mapping::sweep_rows);
        return;
#endif
      default:
        detail::portable_forward(tables_, a, b, y, threads_);
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

  int threads() const { return threads_; }
  void set_threads(int threads) { threads_ = threads; }
  const detail::forward_tables& tables() const { return tables_; }

 private:
  detail::forward_tables tables_;
  int threads_;
};

}  // namespace AMGRAD_HOST_ABI
}  // namespace amgrad::kernel::host
