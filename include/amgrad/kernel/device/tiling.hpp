#pragma once
// Tile arithmetic and per-thread programs of the device kernels, written without any CUDA
// dependency. The CUDA kernels (kernel/device/*.cuh) are thin shells that call these functions
// between __syncthreads(); the host test suite calls the very same functions thread by thread to
// emulate whole thread blocks, so the index logic and the arithmetic are checked bit for bit on a
// machine without a GPU.
//
// Arrangement (forward, Y[i][j] = sum_k LUT[A[i][k]][B[k][j]]):
//   * a block computes a bm x bn tile of Y; warps are stacked along i (tm rows each) and the 32
//     lanes of a warp spread along j (tn consecutive columns each);
//   * so at a given k all lanes of a warp hold the same A[i][k]: their lookups hit one table row,
//     LUT[A[i][k]][.], and the A codes they read from shared memory are a broadcast;
//   * A and B tiles (bk deep) live in shared memory, A stored k-major ([k][i]) so that a thread
//     reads its tm codes with one vector load, B stored [k][j] so that a warp reads 32*tn
//     consecutive bytes.
// The LUT-2D backward uses the same arrangement on out(p,q) = sum_r W(p,r) * T[F(p,q)][V(q,r)].
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "amgrad/config.hpp"
#include "amgrad/kernel/device/table_storage.hpp"
#include "amgrad/matrix.hpp"
#include "amgrad/operand.hpp"

namespace amgrad::kernel::device::tiling {

AMGRAD_HOST_DEVICE constexpr std::int64_t ceil_div(std::int64_t x, std::int64_t y) {
  return (x + y - 1) / y;
}
AMGRAD_HOST_DEVICE constexpr std::int64_t round_up(std::int64_t x, std::int64_t y) {
  return ceil_div(x, y) * y;
}
AMGRAD_HOST_DEVICE constexpr std::int64_t min64(std::int64_t x, std::int64_t y) { return x < y ? x : y; }
AMGRAD_HOST_DEVICE constexpr std::int64_t max64(std::int64_t x, std::int64_t y) { return x < y ? y : x; }

inline constexpr int warp_size = 32;

// The work of one thread block: Threads threads, each owning a TM x TN register tile; the
// reduction dimension advances BK at a time through shared memory.
template <int Threads, int TM, int TN, int BK>
struct tile_shape {
  static_assert(Threads > 0 && Threads % warp_size == 0,
                "amgrad tile_shape: the thread count must be a multiple of the warp size (32)");
  static_assert(TM % 4 == 0 && TN % 4 == 0,
                "amgrad tile_shape: TM and TN must be multiples of 4 (vector loads of codes)");
  static_assert(BK > 0 && BK % 4 == 0, "amgrad tile_shape: BK must be a positive multiple of 4");

  static constexpr int threads = Threads;
  static constexpr int warps = Threads / warp_size;
  static constexpr int tm = TM;
  static constexpr int tn = TN;
  static constexpr int bk = BK;
  static constexpr int bm = warps * TM;      // rows of the block tile (one TM strip per warp)
  static constexpr int bn = warp_size * TN;  // columns of the block tile (TN per lane)
};

// The default tiles. 512 threads: the 8-bit table takes 128 KiB, so a block has an SM to itself
// and needs 16 warps to hide the shared-memory latency.
using forward_tile = tile_shape<512, 8, 4, 32>;
using backward_tile = tile_shape<256, 8, 4, 32>;

// First row and column (inside the block tile) of the register tile of thread `tid`.
struct thread_origin {
  int row = 0;
  int col = 0;
};
template <class Tile>
AMGRAD_HOST_DEVICE constexpr thread_origin origin_of(int tid) {
  return {(tid / warp_size) * Tile::tm, (tid % warp_size) * Tile::tn};
}

// Row stride (in elements) of a k-major operand tile [bk][bm + pad]. The padding keeps vector
// loads aligned (8 bytes for codes, 16 for floats) and spreads the transposing stores over
// several banks.
template <class T>
AMGRAD_HOST_DEVICE constexpr int row_tile_stride(int bm) {
  return bm + (sizeof(T) == 1 ? 8 : static_cast<int>(16 / sizeof(T)));
}

// Dynamic shared memory of a kernel: [table][row operand tile][column operand tile], each part
// 16-byte aligned. entry_bytes == 0: the table stays in global memory (32-bit fallback).
struct smem_layout {
  std::size_t table_bytes = 0;
  std::size_t row_tile_offset = 0;
  std::size_t col_tile_offset = 0;
  std::size_t total = 0;
};
AMGRAD_HOST_DEVICE constexpr std::size_t align16(std::size_t x) { return (x + 15) / 16 * 16; }
AMGRAD_HOST_DEVICE constexpr std::size_t table_entries(int bits) {
  return std::size_t{1} << (2 * bits);
}
template <class Tile, class RowT>
AMGRAD_HOST_DEVICE constexpr smem_layout make_smem_layout(int bits, int entry_bytes) {
  smem_layout s;
  s.table_bytes = align16(table_entries(bits) * static_cast<std::size_t>(entry_bytes));
  s.row_tile_offset = s.table_bytes;
  const std::size_t row_tile =
      align16(sizeof(RowT) * static_cast<std::size_t>(Tile::bk) *
              static_cast<std::size_t>(row_tile_stride<RowT>(Tile::bm)));
  s.col_tile_offset = s.row_tile_offset + row_tile;
  s.total = s.col_tile_offset + align16(static_cast<std::size_t>(Tile::bk) * Tile::bn);
  return s;
}

// ---- split-K ------------------------------------------------------------------------------

struct k_range {
  std::int64_t begin = 0;
  std::int64_t end = 0;
};

// Range of split `index` out of `splits`: chunks of equal length rounded up to `granule`, so that
// every split but the last starts on a shared-tile boundary. The ranges partition [0, k).
AMGRAD_HOST_DEVICE constexpr k_range split_range(std::int64_t k, int splits, int index,
                                                 int granule) {
  const std::int64_t chunk = round_up(ceil_div(k, splits), granule);
  const std::int64_t begin = min64(k, chunk * index);
  return {begin, min64(k, begin + chunk)};
}

// How many K splits fill `target_blocks` resident blocks when the output tile grid alone does
// not, keeping at least `min_k_per_split` of K per split (each split reloads the table into
// shared memory) and never producing an empty split.
AMGRAD_HOST_DEVICE constexpr int choose_splits(std::int64_t m, std::int64_t n, std::int64_t k,
                                               int bm, int bn, int granule,
                                               std::int64_t target_blocks,
                                               std::int64_t min_k_per_split) {
  const std::int64_t blocks = ceil_div(m, bm) * ceil_div(n, bn);
  if (k <= 0 || blocks >= target_blocks) return 1;
  const std::int64_t wanted = ceil_div(target_blocks, blocks);
  const std::int64_t most = max64(1, k / max64(min_k_per_split, granule));
  std::int64_t splits = min64(min64(wanted, most), 65535);  // gridDim.z limit
  const std::int64_t chunk = round_up(ceil_div(k, splits), granule);
  splits = ceil_div(k, chunk);  // drop splits that would be empty after rounding
  return static_cast<int>(splits);
}

// ---- table storage ------------------------------------------------------------------------


// ---- table readers ------------------------------------------------------------------------

// A table in shared memory (or, in the host emulation, anywhere): plain loads.
template <class Entry>
struct direct_table {
  const Entry* entries;
  AMGRAD_HOST_DEVICE std::int32_t operator[](std::int32_t index) const {
    return static_cast<std::int32_t>(entries[index]);
  }
};

// The 32-bit fallback: a table in global memory, read through the read-only data cache.
struct global_table {
  const std::int32_t* entries;
  AMGRAD_HOST_DEVICE std::int32_t operator[](std::int32_t index) const {
#if defined(__CUDA_ARCH__)
    return __ldg(entries + index);
#else
    return entries[index];
#endif
  }
};

// ---- vector loads from shared tiles -------------------------------------------------------

// N consecutive codes from an aligned shared tile (8-byte aligned when N % 8 == 0, else 4).
template <int N>
AMGRAD_HOST_DEVICE inline void load_codes(code_t (&dst)[N], const code_t* src) {
#if defined(__CUDA_ARCH__)
  if constexpr (N % 8 == 0) {
AMGRAD_UNROLL
    for (int v = 0; v < N / 8; ++v) {
      const unsigned long long word = reinterpret_cast<const unsigned long long*>(src)[v];
AMGRAD_UNROLL
      for (int x = 0; x < 8; ++x) dst[8 * v + x] = static_cast<code_t>(word >> (8 * x));
    }
  } else {
AMGRAD_UNROLL
    for (int v = 0; v < N / 4; ++v) {
      const unsigned word = reinterpret_cast<const unsigned*>(src)[v];
AMGRAD_UNROLL
      for (int x = 0; x < 4; ++x) dst[4 * v + x] = static_cast<code_t>(word >> (8 * x));
    }
  }
#else
  std::memcpy(dst, src, N);
#endif
}

template <int N>
AMGRAD_HOST_DEVICE inline void load_floats(float (&dst)[N], const float* src) {
#if defined(__CUDA_ARCH__)
  static_assert(N % 4 == 0, "amgrad load_floats: N must be a multiple of 4");
AMGRAD_UNROLL
  for (int v = 0; v < N / 4; ++v) {
    const float4 q = reinterpret_cast<const float4*>(src)[v];
    dst[4 * v] = q.x;
    dst[4 * v + 1] = q.y;
    dst[4 * v + 2] = q.z;
    dst[4 * v + 3] = q.w;
  }
#else
  std::memcpy(dst, src, sizeof(float) * N);
#endif
}

AMGRAD_HOST_DEVICE inline float fused_multiply_add(float x, float y, float z) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(x, y, z);
#else
  return std::fma(x, y, z);
#endif
}

// ---- operand tiles (phase 1 of every reduction step) ---------------------------------------

// Copies R(p, r) for p in [p0, p0 + bm), r in [r0, r_end) into tile[r - r0][p - p0] (k-major,
// row stride row_tile_stride<T>(bm)); entries outside the matrix or the range become T{} (code
// 0 is a valid table index, and it is never accumulated: see the reduction bounds). Thread `tid`
// copies every `threads`-th element, walking along whichever index is contiguous in memory.
template <class Tile, class T>
AMGRAD_HOST_DEVICE inline void load_row_tile(int tid, matrix_view<const T> view, std::int64_t p0,
                                             std::int64_t r0, std::int64_t r_end, T* tile) {
  constexpr int stride = row_tile_stride<T>(Tile::bm);
  const bool along_r = view.col_stride == 1;
  for (int e = tid; e < Tile::bm * Tile::bk; e += Tile::threads) {
    const int p = along_r ? e / Tile::bk : e % Tile::bm;
    const int r = along_r ? e % Tile::bk : e / Tile::bm;
    const std::int64_t gp = p0 + p, gr = r0 + r;
    tile[r * stride + p] = (gp < static_cast<std::int64_t>(view.rows) && gr < r_end)
                               ? view(static_cast<std::size_t>(gp), static_cast<std::size_t>(gr))
                               : T{};
  }
}

// Copies C(r, q) for r in [r0, r_end), q in [q0, q0 + bn) into tile[r - r0][q - q0].
template <class Tile>
AMGRAD_HOST_DEVICE inline void load_col_tile(int tid, matrix_view<const code_t> view,
                                             std::int64_t q0, std::int64_t r0, std::int64_t r_end,
                                             code_t* tile) {
  const bool along_q = view.col_stride == 1 || view.row_stride != 1;
  for (int e = tid; e < Tile::bk * Tile::bn; e += Tile::threads) {
    const int r = along_q ? e / Tile::bn : e % Tile::bk;
    const int q = along_q ? e % Tile::bn : e / Tile::bk;
    const std::int64_t gq = q0 + q, gr = r0 + r;
    tile[r * Tile::bn + q] = (gq < static_cast<std::int64_t>(view.cols) && gr < r_end)
                                 ? view(static_cast<std::size_t>(gr), static_cast<std::size_t>(gq))
                                 : code_t{0};
  }
}

// ---- forward program ----------------------------------------------------------------------

template <class Tile>
struct forward_registers {
  std::int32_t acc[Tile::tm][Tile::tn];
};

template <class Tile>
AMGRAD_HOST_DEVICE inline void clear(forward_registers<Tile>& regs) {
  AMGRAD_UNROLL
  for (int r = 0; r < Tile::tm; ++r)
    AMGRAD_UNROLL
    for (int c = 0; c < Tile::tn; ++c) regs.acc[r][c] = 0;
}

// Phase 2: `steps` (<= bk) reduction steps over the tiles in shared memory.
template <class Tile, class Table>
AMGRAD_HOST_DEVICE inline void accumulate_forward(int tid, const code_t* a_tile,
                                                  const code_t* b_tile, int steps,
                                                  const Table& lut, int bits,
                                                  forward_registers<Tile>& regs) {
  constexpr int a_stride = row_tile_stride<code_t>(Tile::bm);
  const thread_origin at = origin_of<Tile>(tid);
AMGRAD_UNROLL_BY_4
  for (int k = 0; k < steps; ++k) {
    code_t a[Tile::tm];
    code_t b[Tile::tn];
    load_codes<Tile::tm>(a, a_tile + k * a_stride + at.row);  // same address for the warp
    load_codes<Tile::tn>(b, b_tile + k * Tile::bn + at.col);  // 32*tn consecutive bytes
AMGRAD_UNROLL
    for (int r = 0; r < Tile::tm; ++r) {
      const std::int32_t row = static_cast<std::int32_t>(a[r]) << bits;  // one row per warp
AMGRAD_UNROLL
      for (int c = 0; c < Tile::tn; ++c) regs.acc[r][c] += lut[row + b[c]];
    }
  }
}

// Phase 3: writes (or, with split-K, adds) the register tile into Y through `put(ptr, value)`.
template <class Tile, class Put>
AMGRAD_HOST_DEVICE inline void store_forward(int tid, std::int64_t row0, std::int64_t col0,
                                             const forward_registers<Tile>& regs,
                                             matrix_view<std::int32_t> y, Put put) {
  const thread_origin at = origin_of<Tile>(tid);
  // Fully unrolled with guards rather than `break`: the register tile must only ever be indexed
  // by compile-time constants, or it moves to local memory.
  AMGRAD_UNROLL
  for (int r = 0; r < Tile::tm; ++r) {
    const std::int64_t i = row0 + at.row + r;
    AMGRAD_UNROLL
    for (int c = 0; c < Tile::tn; ++c) {
      const std::int64_t j = col0 + at.col + c;
      if (i < static_cast<std::int64_t>(y.rows) && j < static_cast<std::int64_t>(y.cols))
        put(&y(static_cast<std::size_t>(i), static_cast<std::size_t>(j)), regs.acc[r][c]);
    }
  }
}

// ---- LUT-2D backward program --------------------------------------------------------------
//
// out(p, q) = scale * sum_r W(p, r) * T[F(p, q)][V(q, r)], with a 16-bit fixed-point table T.
//   dA: p = i, q = k, r = j; W = dY, F = A, V = B (K x N), T = round(16 dAM/da).
//   dB: the same on the transposed problem: p = j, q = k, r = i; W = dY^T, F = B^T, V = A^T, and
//       T = round(16 dAM/db) transposed; out = dB^T.

template <class Tile>
struct backward_registers {
  std::int32_t row[Tile::tm][Tile::tn];  // F(p, q) << bits: the table row of each output
  float acc[Tile::tm][Tile::tn];
};

template <class Tile>
AMGRAD_HOST_DEVICE inline void init_backward(int tid, matrix_view<const code_t> f,
                                             std::int64_t p0, std::int64_t q0, int bits,
                                             backward_registers<Tile>& regs) {
  const thread_origin at = origin_of<Tile>(tid);
  AMGRAD_UNROLL
  for (int r = 0; r < Tile::tm; ++r)
    AMGRAD_UNROLL
    for (int c = 0; c < Tile::tn; ++c) {
      const std::int64_t p = p0 + at.row + r, q = q0 + at.col + c;
      const bool inside = p < static_cast<std::int64_t>(f.rows) &&
                          q < static_cast<std::int64_t>(f.cols);
      regs.row[r][c] =
          inside ? static_cast<std::int32_t>(f(static_cast<std::size_t>(p), static_cast<std::size_t>(q))) << bits
                 : 0;
      regs.acc[r][c] = 0.0f;
    }
}

template <class Tile, class Table>
AMGRAD_HOST_DEVICE inline void accumulate_backward(int tid, const float* w_tile,
                                                   const code_t* v_tile, int steps,
                                                   const Table& table,
                                                   backward_registers<Tile>& regs) {
  constexpr int w_stride = row_tile_stride<float>(Tile::bm);
  const thread_origin at = origin_of<Tile>(tid);
AMGRAD_UNROLL_BY_2
  for (int s = 0; s < steps; ++s) {
    float w[Tile::tm];
    code_t v[Tile::tn];
    load_floats<Tile::tm>(w, w_tile + s * w_stride + at.row);
    load_codes<Tile::tn>(v, v_tile + s * Tile::bn + at.col);
AMGRAD_UNROLL
    for (int r = 0; r < Tile::tm; ++r)
AMGRAD_UNROLL
      for (int c = 0; c < Tile::tn; ++c)
        regs.acc[r][c] = fused_multiply_add(
            w[r], static_cast<float>(table[regs.row[r][c] + v[c]]), regs.acc[r][c]);
  }
}

template <class Tile>
AMGRAD_HOST_DEVICE inline void store_backward(int tid, std::int64_t p0, std::int64_t q0,
                                              const backward_registers<Tile>& regs, float scale,
                                              matrix_view<float> out) {
  const thread_origin at = origin_of<Tile>(tid);
  AMGRAD_UNROLL
  for (int r = 0; r < Tile::tm; ++r) {
    const std::int64_t p = p0 + at.row + r;
    AMGRAD_UNROLL
    for (int c = 0; c < Tile::tn; ++c) {
      const std::int64_t q = q0 + at.col + c;
      if (p < static_cast<std::int64_t>(out.rows) && q < static_cast<std::int64_t>(out.cols))
        out(static_cast<std::size_t>(p), static_cast<std::size_t>(q)) = regs.acc[r][c] * scale;
    }
  }
}

// Split reduction of the backward (float sums are not associative, so no atomics): split z
// writes its partial output, compact row-major P x Q, at partials + z * P * Q; then element
// `index` of the output is summed over z in order. Deterministic, and the same on every run.
AMGRAD_HOST_DEVICE inline matrix_view<float> partial_view(float* partials, int z,
                                                          std::size_t rows, std::size_t cols) {
  return {partials + static_cast<std::ptrdiff_t>(z) * static_cast<std::ptrdiff_t>(rows * cols),
          rows, cols, static_cast<std::ptrdiff_t>(cols), 1};
}

struct reduce_partials {
  const float* partials;
  int splits;
  matrix_view<float> out;
  AMGRAD_HOST_DEVICE void operator()(std::int64_t index) const {
    const auto cols = static_cast<std::int64_t>(out.cols);
    const auto size = static_cast<std::int64_t>(out.rows) * cols;
    float sum = 0.0f;
    for (int z = 0; z < splits; ++z) sum += partials[z * size + index];
    out(static_cast<std::size_t>(index / cols), static_cast<std::size_t>(index % cols)) = sum;
  }
};

}  // namespace amgrad::kernel::device::tiling
