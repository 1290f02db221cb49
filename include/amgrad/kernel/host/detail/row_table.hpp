#pragma once
// The row-table technique, portable version. For each A[i][k], the row LUT[A[i][k]][.] is fixed;
// sweeping j then looks up LUT[row][B[k][j]] from one small contiguous row (i-k-j order), instead
// of the dot order's scattered LUT[A[i][k]][B[k][j]] over the whole table. No hardware gathers:
// they are slow on AMD. Also here: the tables every host kernel is prepared with, packing, and
// the one value each kernel call passes down its layers (forward_problem, gradient_problem).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "amgrad/kernel/host/threading.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/operand.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad::detail {
inline namespace AMGRAD_HOST_ABI {

// One 64-byte line; byte-plane tables are arrays of these so that every row is zmm-aligned.
struct alignas(64) line {
  std::uint8_t bytes[64];
};

// Byte planes of a 16-bit table with 2^bits rows: row `code` is 8 lines, the low bytes of its
// 256 (zero-padded) entries, then the high bytes. The vector kernels keep one row in registers.
inline constexpr std::size_t lines_per_row = 8;

inline std::vector<line> byte_planes(const std::uint16_t* values, int bits) {
  const std::size_t side = std::size_t{1} << bits;
  std::vector<line> out(side * lines_per_row, line{});
  for (std::size_t r = 0; r < side; ++r) {
    auto* lo = out[r * lines_per_row].bytes;      // lines 0..3 are contiguous: 256 bytes
    auto* hi = out[r * lines_per_row + 4].bytes;  // lines 4..7
    for (std::size_t c = 0; c < side; ++c) {
      lo[c] = static_cast<std::uint8_t>(values[r * side + c] & 0xFFu);
      hi[c] = static_cast<std::uint8_t>(values[r * side + c] >> 8);
    }
  }
  return out;
}

template <class T>
std::vector<T> transposed_values(const table<T>& t) {
  const auto side = static_cast<std::size_t>(t.side());
  std::vector<T> out(t.size());
  for (std::size_t r = 0; r < side; ++r)
    for (std::size_t c = 0; c < side; ++c) out[c * side + r] = t.data()[r * side + c];
  return out;
}

// A product table prepared for the forward kernels, in both orientations ([a][b] for the usual
// mapping, [b][a] for the transposed one). When max - min < 2^16 the entries are re-based to
// stored = value - base with base = min, so they fit unsigned 16-bit lanes whatever the sign of
// the table; Y = sum(stored) + K * base. Otherwise only the int32 table is usable.
struct forward_tables {
  int bits = 0;
  std::int32_t base = 0;
  std::int64_t max_abs = 0;  // max |AM|, for the int32 overflow check
  bool fits_u16 = false;
  std::vector<std::int32_t> lut, lut_t;    // int32, [a][b] and [b][a]
  std::vector<std::uint16_t> u16, u16_t;   // re-based, when fits_u16
  std::vector<line> planes, planes_t;      // byte planes of u16, u16_t

  std::size_t side() const { return std::size_t{1} << bits; }
};

inline forward_tables prepare_forward(const product_table& lut) {
  forward_tables t;
  t.bits = lut.format().bits;
  t.lut = lut.values();
  t.lut_t = transposed_values(lut);
  const auto [lo, hi] = std::minmax_element(t.lut.begin(), t.lut.end());
  t.base = *lo;
  t.max_abs = max_abs_product(lut);
  t.fits_u16 = static_cast<std::int64_t>(*hi) - *lo <= std::numeric_limits<std::uint16_t>::max();
  if (t.fits_u16) {
    auto rebase = [&](const std::vector<std::int32_t>& v) {
      std::vector<std::uint16_t> out(v.size());
      for (std::size_t i = 0; i < v.size(); ++i)
        out[i] = static_cast<std::uint16_t>(static_cast<std::int64_t>(v[i]) - t.base);
      return out;
    };
    t.u16 = rebase(t.lut);
    t.u16_t = rebase(t.lut_t);
    t.planes = byte_planes(t.u16.data(), t.bits);
    t.planes_t = byte_planes(t.u16_t.data(), t.bits);
  }
  return t;
}

// A matrix as rows of contiguous elements `ld` apart, the layout the kernels read their swept
// operand ("panel") and dy in: the view itself when it already is one, else a row-major copy
// held in `storage`.
template <class T>
struct dense_panel {
  const T* data = nullptr;
  std::size_t ld = 0;
  std::vector<T> storage;
};
using code_panel = dense_panel<code_t>;

template <class T>
dense_panel<T> contiguous_panel(matrix_view<const T> m) {
  if (m.col_stride == 1) return {m.data, static_cast<std::size_t>(m.row_stride), {}};
  dense_panel<T> p{nullptr, m.cols, std::vector<T>(m.rows * m.cols)};
  for (std::size_t r = 0; r < m.rows; ++r)
    for (std::size_t c = 0; c < m.cols; ++c) p.storage[r * m.cols + c] = m(r, c);
  p.data = p.storage.data();
  return p;
}

// ---- forward --------------------------------------------------------------------------------

// One forward call: everything its kernels read, built once where the call enters
// (forward_kernel::run). out (R x C) = sum_k T[rows(r, k)][panel(k, c)], in the wrapping
// unsigned type of Acc. The usual mapping: rows = A, panel = B, out = Y; the transposed one (for
// a narrow N): rows = B^T, panel = A^T, out = Y^T, with T transposed to match.
template <class Acc>
struct forward_problem {
  matrix_view<const code_t> rows;  // R x K: each code picks a table row
  code_panel panel;                // K x C: the swept codes
  matrix_view<Acc> out;            // R x C
  // T, [rows' code][panel's code]: the re-based 16-bit entries (stored = value - base) as byte
  // planes (VBMI) and as u16, or, where u16 is null, the int32 entries (base 0).
  const line* planes = nullptr;
  const std::uint16_t* u16 = nullptr;
  const std::int32_t* i32 = nullptr;
  std::size_t side = 0;
  std::int64_t base = 0;
  int bits = 0;
  int threads = 1;  // resolved: at least 1
};

// Rows [r0, r1) of out = sum_k lut[rows(r, k)][panel(k, c)] + K * base, lut being prob.u16 or
// prob.i32, in the wrapping unsigned type of Acc: the result modulo 2^bits(Acc) is what the
// reference's int64 sum casts to.
template <class Entry, class Acc>
AMGRAD_SCALAR_LOOPS void row_table_rows(const forward_problem<Acc>& prob, const Entry* lut,
                                        std::size_t r0, std::size_t r1,
                                        std::vector<std::make_unsigned_t<Acc>>& acc) {
  using U = std::make_unsigned_t<Acc>;
  // Locals, not reads through `prob`: the accumulator's stores could alias its integer fields.
  const matrix_view<const code_t> rows = prob.rows;
  const matrix_view<Acc> out = prob.out;
  const code_t* const panel = prob.panel.data;
  const std::size_t ld = prob.panel.ld, side = prob.side;
  const std::int64_t base = prob.base;
  const std::size_t depth = rows.cols, width = out.cols;
  acc.resize(width);
  for (std::size_t r = r0; r < r1; ++r) {
    std::fill(acc.begin(), acc.end(), U{0});
    U* const s = acc.data();
    std::size_t k = 0;
    // Four rows per sweep: one load and store of the accumulator per four lookups.
    for (; k + 4 <= depth; k += 4) {
      const Entry* t0 = lut + side * rows(r, k);
      const Entry* t1 = lut + side * rows(r, k + 1);
      const Entry* t2 = lut + side * rows(r, k + 2);
      const Entry* t3 = lut + side * rows(r, k + 3);
      const code_t* p0 = panel + k * ld;
      const code_t* p1 = p0 + ld;
      const code_t* p2 = p1 + ld;
      const code_t* p3 = p2 + ld;
      for (std::size_t c = 0; c < width; ++c)
        s[c] += (static_cast<U>(t0[p0[c]]) + static_cast<U>(t1[p1[c]])) +
                (static_cast<U>(t2[p2[c]]) + static_cast<U>(t3[p3[c]]));
    }
    for (; k < depth; ++k) {
      const Entry* t0 = lut + side * rows(r, k);
      const code_t* p0 = panel + k * ld;
      for (std::size_t c = 0; c < width; ++c) s[c] += static_cast<U>(t0[p0[c]]);
    }
    const U offset = static_cast<U>(static_cast<std::int64_t>(depth) * base);
    for (std::size_t c = 0; c < width; ++c) out(r, c) = static_cast<Acc>(s[c] + offset);
  }
}

inline constexpr std::size_t portable_row_block = 16;

// The portable forward: out through the row table, threads over blocks of rows. On the 16-bit
// re-based entries when prob.u16 is set (half the cache footprint), else the int32 ones.
template <class Acc>
void portable_forward(const forward_problem<Acc>& prob) {
  using U = std::make_unsigned_t<Acc>;
  const std::size_t blocks = (prob.out.rows + portable_row_block - 1) / portable_row_block;
  std::vector<std::vector<U>> scratch(static_cast<std::size_t>(prob.threads));
  parallel_for(blocks, prob.threads, [&](std::size_t blk, int me) {
    const std::size_t r0 = blk * portable_row_block;
    const std::size_t r1 = std::min(prob.out.rows, r0 + portable_row_block);
    auto& acc = scratch[static_cast<std::size_t>(me)];
    if (prob.u16 != nullptr)
      row_table_rows(prob, prob.u16, r0, r1, acc);
    else
      row_table_rows(prob, prob.i32, r0, r1, acc);
  });
}

// ---- LUT-2D backward ------------------------------------------------------------------------

// One LUT-2D gradient pass: everything its kernels read, built once where the pass enters
// (backward_table_kernel::da / db). out (R x K) = scale * sum_c dy[r][c] *
// G[rows(r, k)][panel(k, c)]. dA: rows = A, panel = B, dy = dY, out = dA. dB is the same pass on
// the transposed problem: rows = B^T, panel = A^T, dy = dY^T, out = dB^T, with G_b transposed.
struct gradient_problem {
  matrix_view<const code_t> rows;  // R x K: each code picks a table row
  code_panel panel;                // K x C: the swept codes
  dense_panel<float> dy;           // R x C
  std::size_t width = 0;           // C, the reduction
  matrix_view<float> out;          // R x K
  code_panel rows_t;               // K x R, rows transposed: the sweep form's lanes (else empty)
  // G, [rows' code][panel's code]: float entries (portable form), or the x16 int16 entries as
  // byte planes with a row per row code (VBMI dot form) and, transposed, per panel code (sweep).
  const float* table = nullptr;
  std::size_t side = 0;
  const line* planes = nullptr;
  const line* planes_t = nullptr;
  float scale = 1;  // of the int16 entries
  int bits = 0;
  int threads = 1;  // resolved: at least 1
};

// Rows [r0, r1) of the gradient in the dot form over the float table (the portable LUT-2D
// backward).
inline void gradient_dot_rows(const gradient_problem& prob, std::size_t r0, std::size_t r1) {
  const matrix_view<const code_t> rows = prob.rows;
  const matrix_view<float> out = prob.out;
  const float* const g = prob.table;
  const code_t* const panel = prob.panel.data;
  const float* const dy = prob.dy.data;
  const std::size_t side = prob.side, ld = prob.panel.ld, dy_ld = prob.dy.ld, width = prob.width;
  for (std::size_t r = r0; r < r1; ++r) {
    const float* d = dy + r * dy_ld;
    for (std::size_t k = 0; k < rows.cols; ++k) {
      const float* gr = g + side * rows(r, k);
      const code_t* p = panel + k * ld;
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      std::size_t c = 0;
      for (; c + 4 <= width; c += 4) {
        s0 += d[c] * gr[p[c]];
        s1 += d[c + 1] * gr[p[c + 1]];
        s2 += d[c + 2] * gr[p[c + 2]];
        s3 += d[c + 3] * gr[p[c + 3]];
      }
      for (; c < width; ++c) s0 += d[c] * gr[p[c]];
      out(r, k) = (s0 + s1) + (s2 + s3);
    }
  }
}

inline constexpr std::size_t portable_gradient_block = 8;

// The portable LUT-2D backward: threads over blocks of rows.
inline void portable_gradient(const gradient_problem& prob) {
  const std::size_t blocks =
      (prob.out.rows + portable_gradient_block - 1) / portable_gradient_block;
  parallel_for(blocks, prob.threads, [&](std::size_t blk, int) {
    const std::size_t r0 = blk * portable_gradient_block;
    gradient_dot_rows(prob, r0, std::min(prob.out.rows, r0 + portable_gradient_block));
  });
}

}  // namespace AMGRAD_HOST_ABI
}  // namespace amgrad::detail
