#pragma once
// The row-table technique, portable version. For each A[i][k], the row LUT[A[i][k]][.] is fixed;
// sweeping j then looks up LUT[row][B[k][j]] from one small contiguous row (i-k-j order), instead
// of the dot order's scattered LUT[A[i][k]][B[k][j]] over the whole table. No hardware gathers:
// they are slow on AMD. Also here: the tables every host kernel is prepared with, and packing.
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

// The row-table sweep is faster as scalar code: GCC's auto-vectoriser otherwise builds vectors
// from 16 scalar loads each (an emulated gather), 3.3 -> 2.8 G-lookups/s on Zen 5.
#if defined(__GNUC__) && !defined(__clang__)
#define AMGRAD_SCALAR_LOOPS __attribute__((optimize("no-tree-vectorize")))
#else
#define AMGRAD_SCALAR_LOOPS
#endif

namespace amgrad::kernel::host {
inline namespace AMGRAD_HOST_ABI {
namespace detail {

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

// A contiguous row-major copy of a code matrix when it is not already one; kernels read their
// swept operand ("panel") as rows of contiguous codes.
struct code_panel {
  const code_t* data;
  std::size_t ld;
  std::vector<code_t> storage;
};

inline code_panel contiguous_panel(matrix_view<const code_t> m) {
  if (m.col_stride == 1) return {m.data, static_cast<std::size_t>(m.row_stride), {}};
  code_panel p{nullptr, m.cols, std::vector<code_t>(m.rows * m.cols)};
  for (std::size_t r = 0; r < m.rows; ++r)
    for (std::size_t c = 0; c < m.cols; ++c) p.storage[r * m.cols + c] = m(r, c);
  p.data = p.storage.data();
  return p;
}

inline std::vector<float> contiguous_floats(matrix_view<const float> m) {
  std::vector<float> out(m.rows * m.cols);
  for (std::size_t r = 0; r < m.rows; ++r)
    for (std::size_t c = 0; c < m.cols; ++c) out[r * m.cols + c] = m(r, c);
  return out;
}

// Rows [r0, r1) of out = sum_k T[rows(r, k)][panel(k, c)] + K * base, in the wrapping unsigned
// type of Acc: the result modulo 2^bits(Acc) is what the reference's int64 sum casts to.
template <class Entry, class Acc>
AMGRAD_SCALAR_LOOPS void row_table_rows(const Entry* lut, std::size_t side, std::int64_t base,
                    matrix_view<const code_t> rows, const code_t* panel, std::size_t ld,
                    matrix_view<Acc> out, std::size_t r0, std::size_t r1,
                    std::vector<std::make_unsigned_t<Acc>>& acc) {
  using U = std::make_unsigned_t<Acc>;
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

// The portable forward: Y = A (x) B through the row table, threads over blocks of rows. Uses the
// 16-bit re-based table when the products fit it (half the cache footprint), else int32.
template <class Acc>
void portable_forward(const forward_tables& t, matrix_view<const code_t> a,
                      matrix_view<const code_t> b, matrix_view<Acc> y, int threads,
                      bool allow_u16 = true) {
  using U = std::make_unsigned_t<Acc>;
  if (y.rows == 0 || y.cols == 0) return;
  const auto panel = contiguous_panel(b);
  const std::size_t blocks = (y.rows + portable_row_block - 1) / portable_row_block;
  const int used = resolve_threads(threads);
  std::vector<std::vector<U>> scratch(static_cast<std::size_t>(used));
  parallel_for(blocks, used, [&](std::size_t blk, int me) {
    const std::size_t r0 = blk * portable_row_block;
    const std::size_t r1 = std::min(y.rows, r0 + portable_row_block);
    auto& acc = scratch[static_cast<std::size_t>(me)];
    if (t.fits_u16 && allow_u16)
      row_table_rows(t.u16.data(), t.side(), t.base, a, panel.data, panel.ld, y, r0, r1, acc);
    else
      row_table_rows(t.lut.data(), t.side(), 0, a, panel.data, panel.ld, y, r0, r1, acc);
  });
}

// Rows [r0, r1) of the table-gradient dot form: out(r, k) = scale * sum_c dy[r][c] *
// G[rows(r, k)][panel(k, c)], with G a float table (the portable LUT-2D backward).
inline void gradient_dot_rows(const float* g, std::size_t side, matrix_view<const code_t> rows,
                              const code_t* panel, std::size_t ld, const float* dy,
                              std::size_t dy_ld, std::size_t width, matrix_view<float> out,
                              std::size_t r0, std::size_t r1) {
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

}  // namespace detail
}  // namespace AMGRAD_HOST_ABI
}  // namespace amgrad::kernel::host
