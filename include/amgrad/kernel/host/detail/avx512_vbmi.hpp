#pragma once
// AVX-512 VBMI kernels: the only file with x86 intrinsics. Compiled when the target has VBMI
// (AMGRAD_HAS_AVX512VBMI, from -march=native or -mavx512vbmi); never chosen at run time.
//
// The row LUT[code][.] sits in zmm registers as two byte planes (low and high bytes of a 16-bit
// entry); `vpermb`/`vpermt2b` look up 64 entries per instruction, indexed by 64 codes of the swept
// operand. Widths <= 6 need one vpermb per plane, 7 bits one vpermt2b, 8 bits two and a blend on
// bit 7 of the code.
#include "amgrad/config.hpp"

#if AMGRAD_HAS_AVX512VBMI
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "amgrad/kernel/host/detail/row_table.hpp"

// GCC 12 flags the `__m512i __Y = __Y;` idiom inside its own intrinsics headers when they are
// inlined here; the values are never read uninitialised.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace amgrad::detail {
inline namespace AMGRAD_HOST_ABI {
namespace avx512_vbmi {

// How many code bits a lookup consumes: <= 6, 7 or 8.
enum class lookup_width { up_to_6 = 6, seven = 7, eight = 8 };

inline lookup_width width_for(int bits) {
  return bits <= 6 ? lookup_width::up_to_6 : bits == 7 ? lookup_width::seven : lookup_width::eight;
}

// Calls f(std::integral_constant<lookup_width, W>{}) for the run-time width of `bits`: the one
// place where a table's width picks the compiled lookup.
template <class F>
void with_lookup_width(int bits, F&& f) {
  switch (width_for(bits)) {
    case lookup_width::up_to_6:
      return f(std::integral_constant<lookup_width, lookup_width::up_to_6>{});
    case lookup_width::seven:
      return f(std::integral_constant<lookup_width, lookup_width::seven>{});
    case lookup_width::eight:
      return f(std::integral_constant<lookup_width, lookup_width::eight>{});
  }
}

// One plane of one table row: up to four zmm of 64 entries each.
template <lookup_width W>
struct plane {
  __m512i t0, t1, t2, t3;

  plane() = default;
  explicit plane(const line* p) {
    t0 = _mm512_load_si512(p);
    if constexpr (W != lookup_width::up_to_6) t1 = _mm512_load_si512(p + 1);
    if constexpr (W == lookup_width::eight) {
      t2 = _mm512_load_si512(p + 2);
      t3 = _mm512_load_si512(p + 3);
    }
  }
  // 64 byte lookups; `high` holds bit 7 of each code (used for 8-bit codes only).
  __m512i operator()(__m512i codes, __mmask64 high) const {
    if constexpr (W == lookup_width::up_to_6) {
      return _mm512_permutexvar_epi8(codes, t0);
    } else if constexpr (W == lookup_width::seven) {
      return _mm512_permutex2var_epi8(t0, codes, t1);
    } else {
      const __m512i low_half = _mm512_permutex2var_epi8(t0, codes, t1);
      const __m512i high_half = _mm512_permutex2var_epi8(t2, codes, t3);
      return _mm512_mask_blend_epi8(high, low_half, high_half);
    }
  }
};

inline __mmask64 tail_mask(std::size_t n) {
  return n >= 64 ? ~__mmask64{0} : ((__mmask64{1} << n) - 1);
}

// ---- forward --------------------------------------------------------------------------------
//
// A byte plane is summed in u16 lanes two ways: `word += x` (wraps) and `odd += x >> 8`. Then the
// even bytes' sum is word - (odd << 8) mod 2^16, exact while it stays below 2^16: at most 257
// bytes of 255, so the u16 sums are flushed to 32/64-bit every flush_depth k.
inline constexpr std::size_t flush_depth = 256;
inline constexpr std::size_t tile_cols = 128;  // two vectors of 64 codes; B tile 256 x 128 in L1
inline constexpr std::size_t tile_rows = 32;
inline constexpr std::size_t vectors_per_tile = tile_cols / 64;

// Scratch order of one 64-column vector: [even cols 0..30][even 32..62][odd 1..31][odd 33..63].
inline std::size_t scratch_column(std::size_t p) { return p < 32 ? 2 * p : 2 * (p - 32) + 1; }

template <class U>
inline void add_u32(U* dst, __m512i v) {
  if constexpr (std::is_same_v<U, std::uint32_t>) {
    _mm512_storeu_si512(dst, _mm512_add_epi32(_mm512_loadu_si512(dst), v));
  } else {
    const __m512i lo = _mm512_cvtepu32_epi64(_mm512_castsi512_si256(v));
    const __m512i hi = _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(v, 1));
    _mm512_storeu_si512(dst, _mm512_add_epi64(_mm512_loadu_si512(dst), lo));
    _mm512_storeu_si512(dst + 8, _mm512_add_epi64(_mm512_loadu_si512(dst + 8), hi));
  }
}

// Adds stored = lo + 256 * hi of 32 u16 lanes into 32 U's of scratch.
template <class U>
inline void flush_lanes(U* dst, __m512i lo16, __m512i hi16) {
  const __m512i lo_a = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(lo16));
  const __m512i lo_b = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(lo16, 1));
  const __m512i hi_a = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(hi16));
  const __m512i hi_b = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(hi16, 1));
  add_u32(dst, _mm512_add_epi32(lo_a, _mm512_slli_epi32(hi_a, 8)));
  add_u32(dst + 16, _mm512_add_epi32(lo_b, _mm512_slli_epi32(hi_b, 8)));
}

// One tile: rows [r0, r1) x columns [c0, c0 + width) of out += sum_k stored(rows(r,k), panel(k,c))
// kept in `scratch` (tile_rows x tile_cols, scratch order), then written out with K * base.
template <lookup_width W, class Acc>
void forward_tile(const forward_problem<Acc>& prob, std::size_t r0, std::size_t r1,
                  std::size_t c0, std::size_t width,
                  std::vector<std::make_unsigned_t<Acc>>& scratch) {
  using U = std::make_unsigned_t<Acc>;
  // Locals, not reads through `prob`: the scratch and out stores could alias its fields.
  const line* const planes = prob.planes;
  const matrix_view<const code_t> rows = prob.rows;
  const code_t* const panel = prob.panel.data;
  const std::size_t ld = prob.panel.ld;
  const matrix_view<Acc> out = prob.out;
  const std::int64_t base = prob.base;
  const std::size_t depth = rows.cols;
  scratch.assign(tile_rows * tile_cols, U{0});
  const __mmask64 m0 = tail_mask(width);
  const __mmask64 m1 = width > 64 ? tail_mask(width - 64) : 0;
  for (std::size_t kb = 0; kb < depth; kb += flush_depth) {
    const std::size_t ke = std::min(depth, kb + flush_depth);
    for (std::size_t r = r0; r < r1; ++r) {
      __m512i lw0 = _mm512_setzero_si512(), lo0 = lw0, hw0 = lw0, ho0 = lw0;
      __m512i lw1 = lw0, lo1 = lw0, hw1 = lw0, ho1 = lw0;
      const code_t* p = panel + kb * ld + c0;
      for (std::size_t k = kb; k < ke; ++k, p += ld) {
        const line* row = planes + lines_per_row * rows(r, k);
        const plane<W> lo_plane(row), hi_plane(row + 4);
        const __m512i b0 = _mm512_maskz_loadu_epi8(m0, p);
        const __mmask64 h0 = W == lookup_width::eight ? _mm512_movepi8_mask(b0) : 0;
        const __m512i l0 = lo_plane(b0, h0), x0 = hi_plane(b0, h0);
        lw0 = _mm512_add_epi16(lw0, l0);
        lo0 = _mm512_add_epi16(lo0, _mm512_srli_epi16(l0, 8));
        hw0 = _mm512_add_epi16(hw0, x0);
        ho0 = _mm512_add_epi16(ho0, _mm512_srli_epi16(x0, 8));
        if (m1 != 0) {
          const __m512i b1 = _mm512_maskz_loadu_epi8(m1, p + 64);
          const __mmask64 h1 = W == lookup_width::eight ? _mm512_movepi8_mask(b1) : 0;
          const __m512i l1 = lo_plane(b1, h1), x1 = hi_plane(b1, h1);
          lw1 = _mm512_add_epi16(lw1, l1);
          lo1 = _mm512_add_epi16(lo1, _mm512_srli_epi16(l1, 8));
          hw1 = _mm512_add_epi16(hw1, x1);
          ho1 = _mm512_add_epi16(ho1, _mm512_srli_epi16(x1, 8));
        }
      }
      U* s = scratch.data() + (r - r0) * tile_cols;
      auto flush = [](U* dst, __m512i lw, __m512i lo, __m512i hw, __m512i ho) {
        const __m512i le = _mm512_sub_epi16(lw, _mm512_slli_epi16(lo, 8));
        const __m512i he = _mm512_sub_epi16(hw, _mm512_slli_epi16(ho, 8));
        flush_lanes(dst, le, he);       // even columns
        flush_lanes(dst + 32, lo, ho);  // odd columns
      };
      flush(s, lw0, lo0, hw0, ho0);
      if (m1 != 0) flush(s + 64, lw1, lo1, hw1, ho1);
    }
  }
  const U offset = static_cast<U>(static_cast<std::int64_t>(depth) * base);
  for (std::size_t r = r0; r < r1; ++r) {
    const U* s = scratch.data() + (r - r0) * tile_cols;
    for (std::size_t v = 0; v < vectors_per_tile; ++v)
      for (std::size_t p = 0; p < 64; ++p) {
        const std::size_t c = 64 * v + scratch_column(p);
        if (c < width) out(r, c0 + c) = static_cast<Acc>(s[64 * v + p] + offset);
      }
  }
}

// out = rows (x) panel over tiles, threads over tiles, through prob.planes (the 16-bit entries
// must fit: forward_tables::fits_u16).
template <class Acc>
void forward_tiles(const forward_problem<Acc>& prob) {
  using U = std::make_unsigned_t<Acc>;
  const std::size_t row_tiles = (prob.out.rows + tile_rows - 1) / tile_rows;
  const std::size_t col_tiles = (prob.out.cols + tile_cols - 1) / tile_cols;
  std::vector<std::vector<U>> scratch(static_cast<std::size_t>(prob.threads));
  parallel_for(row_tiles * col_tiles, prob.threads, [&](std::size_t tile, int me) {
    const std::size_t r0 = (tile / col_tiles) * tile_rows, c0 = (tile % col_tiles) * tile_cols;
    const std::size_t r1 = std::min(prob.out.rows, r0 + tile_rows);
    const std::size_t width = std::min(tile_cols, prob.out.cols - c0);
    auto& s = scratch[static_cast<std::size_t>(me)];
    with_lookup_width(prob.bits,
                      [&](auto w) { forward_tile<w()>(prob, r0, r1, c0, width, s); });
  });
}

// Which operand the lookups sweep: B's columns (usual), or A's rows for narrow N (transposed:
// Y^T = B^T (x)' A^T with the transposed table, so 64 lanes still fill when N < 64).
enum class mapping { sweep_columns, sweep_rows };

inline mapping preferred_mapping(std::size_t m, std::size_t n) {
  return n < 64 && m > 2 * n ? mapping::sweep_rows : mapping::sweep_columns;
}

// ---- LUT-2D backward ------------------------------------------------------------------------
//
// out(r, k) = scale * sum_c dy[r][c] * G[rows(r, k)][panel(k, c)] with G an int16 table in byte
// planes. The two planes interleave (unpack) into int16, sign-extend into int32, convert to
// float and meet dy in FMAs; dy is read in the matching lane order, prepared once per row.

// The two planes interleave (unpack) into int16 words; each int32 lane then holds two words, and
// a shift (even word) or a mask (odd word) leaves one of them in the high half over a zero low
// half: word * 2^16, sign-correct and exact as a float (16 significant bits); the 2^-16 goes into
// the final scale. Shifts and masks, not shuffles: the shuffle pipes are busy with the lookups.
// `words` holds 32 int16 gradient entries, two per int32 lane; adds word * 2^16 * dy into `even`
// (the lanes' low words, dy from l[0..16)) and `odd` (high words, dy from l[16..32)).
inline void fma_words(__m512i words, const float* l, __m512& even, __m512& odd) {
  const __m512i high_word = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
  even = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_slli_epi32(words, 16)), _mm512_loadu_ps(l),
                         even);
  odd = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_and_si512(words, high_word)),
                        _mm512_loadu_ps(l + 16), odd);
}

// Position p of a 64-column block in lane order -> its column: [even lo][odd lo][even hi][odd hi]
// (unpacklo_epi8 holds columns 16c..16c+7 of each 128-bit chunk c, unpackhi 16c+8..16c+15).
inline std::size_t lane_column(std::size_t p) {
  const std::size_t group = p / 16, l = p % 16;
  const std::size_t chunk = l / 4, word = 2 * (l % 4);
  return 16 * chunk + (group >= 2 ? 8 : 0) + word + (group % 2);
}

// A block of rows from r0 in the dot form: dy in lane order, `stride` floats (`vectors` of 64
// lanes) per row, and the scale with the int32 lanes' 2^-16 folded in.
struct dot_block {
  std::size_t r0;
  std::size_t vectors, stride;
  const float* lanes;
  float scale;
};

// R rows of one output column k: out(r + q, k) for q < R, sharing the panel's codes `p` (and the
// bit-7 mask) between the rows. Always inlined: GCC 12 no longer inlines it once it takes two
// structs instead of twelve values, and the call costs 5% of dA at 1024^3.
template <lookup_width W, int R>
[[gnu::always_inline]] inline void gradient_dot_column(const gradient_problem& prob,
                                                       const dot_block& blk, const code_t* p,
                                                       std::size_t r, std::size_t k) {
  const line* const planes = prob.planes;
  const matrix_view<const code_t> rows = prob.rows;
  const matrix_view<float> out = prob.out;
  const std::size_t width = prob.width, vectors = blk.vectors, stride = blk.stride, r0 = blk.r0;
  const float* const lanes = blk.lanes;
  const float scale = blk.scale;
  plane<W> lo_plane[R], hi_plane[R];
  for (int q = 0; q < R; ++q) {
    const line* row = planes + lines_per_row * rows(r + static_cast<std::size_t>(q), k);
    lo_plane[q] = plane<W>(row);
    hi_plane[q] = plane<W>(row + 4);
  }
  __m512 even[R], odd[R];
  for (int q = 0; q < R; ++q) even[q] = odd[q] = _mm512_setzero_ps();
  const std::size_t full = width / 64;
  for (std::size_t v = 0; v < vectors; ++v) {
    // Full vectors load plainly; only the last, partial one needs a mask (and reads no further).
    const __m512i codes = v < full ? _mm512_loadu_si512(p + 64 * v)
                                   : _mm512_maskz_loadu_epi8(tail_mask(width - 64 * v), p + 64 * v);
    const __mmask64 high = W == lookup_width::eight ? _mm512_movepi8_mask(codes) : 0;
    for (int q = 0; q < R; ++q) {
      const __m512i lo = lo_plane[q](codes, high), hi = hi_plane[q](codes, high);
      const __m512i w0 = _mm512_unpacklo_epi8(lo, hi), w1 = _mm512_unpackhi_epi8(lo, hi);
      const float* l = lanes + (r + static_cast<std::size_t>(q) - r0) * stride + 64 * v;
      fma_words(w0, l, even[q], odd[q]);
      fma_words(w1, l + 32, even[q], odd[q]);
    }
  }
  for (int q = 0; q < R; ++q)
    out(r + static_cast<std::size_t>(q), k) =
        scale * _mm512_reduce_add_ps(_mm512_add_ps(even[q], odd[q]));
}

// Output rows [r0, r1) in the dot form; `lanes` is the calling thread's scratch.
template <lookup_width W>
void gradient_dot_rows(const gradient_problem& prob, std::size_t r0, std::size_t r1,
                       std::vector<float>& lanes) {
  const code_t* const panel = prob.panel.data;
  const float* const dy = prob.dy.data;
  const std::size_t ld = prob.panel.ld, dy_ld = prob.dy.ld, width = prob.width;
  const std::size_t depth = prob.rows.cols;
  const std::size_t vectors = (width + 63) / 64;
  const float scale = prob.scale * (1.0f / 65536.0f);  // the int32 lanes hold word * 2^16
  const std::size_t stride = vectors * 64;
  lanes.assign((r1 - r0) * stride, 0.0f);
  for (std::size_t r = r0; r < r1; ++r) {
    const float* d = dy + r * dy_ld;
    float* l = lanes.data() + (r - r0) * stride;
    for (std::size_t v = 0; v < vectors; ++v)
      for (std::size_t p = 0; p < 64; ++p) {
        const std::size_t c = 64 * v + lane_column(p);
        l[64 * v + p] = c < width ? d[c] : 0.0f;  // zero lanes cancel the padding lookups
      }
  }
  const dot_block blk{r0, vectors, stride, lanes.data(), scale};
  // k outside, rows inside: one panel row serves the whole block from L1.
  for (std::size_t k = 0; k < depth; ++k) {
    const code_t* p = panel + k * ld;
    std::size_t r = r0;
    for (; r + 2 <= r1; r += 2) gradient_dot_column<W, 2>(prob, blk, p, r, k);
    if (r < r1) gradient_dot_column<W, 1>(prob, blk, p, r, k);
  }
}

inline constexpr std::size_t gradient_row_block = 8;

// The gradient in the dot form (the int16 byte planes by the row code), threads over blocks of
// rows.
inline void gradient_dot(const gradient_problem& prob) {
  const std::size_t blocks = (prob.out.rows + gradient_row_block - 1) / gradient_row_block;
  std::vector<std::vector<float>> lanes(static_cast<std::size_t>(prob.threads));
  parallel_for(blocks, prob.threads, [&](std::size_t blk, int me) {
    const std::size_t r0 = blk * gradient_row_block;
    const std::size_t r1 = std::min(prob.out.rows, r0 + gradient_row_block);
    auto& l = lanes[static_cast<std::size_t>(me)];
    with_lookup_width(prob.bits, [&](auto w) { gradient_dot_rows<w()>(prob, r0, r1, l); });
  });
}

// ---- LUT-2D backward, narrow reduction --------------------------------------------------------
//
// With a narrow reduction (few columns of dy: the output channels of a small conv) the dot
// form leaves lanes idle and pays a horizontal sum per output. The sweep form puts 64
// output rows in the lanes instead: out(r, k) = scale * sum_c dy[r][c] * G'[panel(k, c)][rows(r, k)]
// with G' the transposed table, so the rows' codes are looked up in one table row per (k, c)
// and accumulate in plain FMAs, with no reduction across lanes.

// Measured (u8, 1 thread, G-MAC/s, dot -> sweep): reduction 16 (LeNet dA) 1.3 -> 7.5, 64
// (ResNet 64ch dA) 5.6 -> 10.4, 196 (ResNet 256ch dB) 9.7 -> 13.7; at 256 the two are level
// (256^3) or the dot form wins (ResNet 256ch dA, 13.4 vs 10.2). The sweep needs a full 64-row
// block to fill its lanes.
inline bool prefers_sweep(std::size_t out_rows, std::size_t width) {
  return width < 256 && out_rows >= 64;
}

// Output rows [r0, r0 + 64) (or fewer at the end) in the sweep form, through prob.planes_t and
// prob.rows_t; `lanes` is the calling thread's scratch.
template <lookup_width W>
void gradient_sweep_block(const gradient_problem& prob, std::size_t r0,
                          std::vector<float>& lanes) {
  const line* const planes_t = prob.planes_t;
  const code_t* const rows_t = prob.rows_t.data;
  const code_t* const panel = prob.panel.data;
  const float* const dy = prob.dy.data;
  const matrix_view<float> out = prob.out;
  const std::size_t rows_ld = prob.rows_t.ld, depth = out.cols, ld = prob.panel.ld;
  const std::size_t dy_ld = prob.dy.ld, width = prob.width;
  const std::size_t n = std::min<std::size_t>(64, out.rows - r0);
  const float scale = prob.scale * (1.0f / 65536.0f);  // the int32 lanes hold word * 2^16
  // dy in lane order, one 64-lane vector per column c; zero lanes cancel the padding rows.
  lanes.assign(width * 64, 0.0f);
  for (std::size_t c = 0; c < width; ++c)
    for (std::size_t p = 0; p < 64; ++p) {
      const std::size_t r = lane_column(p);
      if (r < n) lanes[c * 64 + p] = dy[(r0 + r) * dy_ld + c];
    }
  const __mmask64 rows_mask = tail_mask(n);
  alignas(64) float sums[64];
  for (std::size_t k = 0; k < depth; ++k) {
    const __m512i codes = _mm512_maskz_loadu_epi8(rows_mask, rows_t + k * rows_ld + r0);
    const __mmask64 high = W == lookup_width::eight ? _mm512_movepi8_mask(codes) : 0;
    __m512 even0 = _mm512_setzero_ps(), odd0 = even0, even1 = even0, odd1 = even0;
    const code_t* p = panel + k * ld;
    for (std::size_t c = 0; c < width; ++c) {
      const line* row = planes_t + lines_per_row * p[c];
      const __m512i lo = plane<W>(row)(codes, high), hi = plane<W>(row + 4)(codes, high);
      const __m512i w0 = _mm512_unpacklo_epi8(lo, hi), w1 = _mm512_unpackhi_epi8(lo, hi);
      const float* l = lanes.data() + c * 64;
      fma_words(w0, l, even0, odd0);
      fma_words(w1, l + 32, even1, odd1);
    }
    _mm512_store_ps(sums, even0);
    _mm512_store_ps(sums + 16, odd0);
    _mm512_store_ps(sums + 32, even1);
    _mm512_store_ps(sums + 48, odd1);
    for (std::size_t q = 0; q < 64; ++q) {
      const std::size_t r = lane_column(q);
      if (r < n) out(r0 + r, k) = scale * sums[q];
    }
  }
}

// The gradient in the sweep form (the int16 byte planes by the panel code; needs prob.rows_t),
// threads over blocks of 64 rows.
inline void gradient_sweep(const gradient_problem& prob) {
  const std::size_t blocks = (prob.out.rows + 63) / 64;
  std::vector<std::vector<float>> lanes(static_cast<std::size_t>(prob.threads));
  parallel_for(blocks, prob.threads, [&](std::size_t blk, int me) {
    auto& l = lanes[static_cast<std::size_t>(me)];
    with_lookup_width(prob.bits, [&](auto w) { gradient_sweep_block<w()>(prob, blk * 64, l); });
  });
}

}  // namespace avx512_vbmi
}  // namespace AMGRAD_HOST_ABI
}  // namespace amgrad::detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // AMGRAD_HAS_AVX512VBMI
