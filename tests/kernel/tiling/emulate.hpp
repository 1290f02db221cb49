#pragma once
// Host emulation of the device kernels' thread blocks: the same per-thread programs
// (kernel/device/detail/tiling.hpp) called thread by thread, phase by phase, in the order that
// __syncthreads() imposes on the GPU. A block's threads only share the operand tiles, which are
// written in one phase and read in the next, so this sequential order computes what the kernel
// computes.
#include <cstdint>
#include <vector>

#include "amgrad/kernel/device/tiling.hpp"

namespace amgrad::test {

namespace dd = amgrad::kernel::device::tiling;

// Y = sum_k LUT[A][B] through `splits` K-splits (splits > 1 adds into a zeroed Y, as the kernel's
// atomicAdd does).
template <class Tile, class Table>
void emulate_forward(const Table& lut, int bits, matrix_view<const code_t> a,
                     matrix_view<const code_t> b, matrix_view<std::int32_t> y, int splits) {
  const auto k = static_cast<std::int64_t>(a.cols);
  if (splits > 1)
    for (std::size_t i = 0; i < y.rows; ++i)
      for (std::size_t j = 0; j < y.cols; ++j) y(i, j) = 0;
  std::vector<code_t> a_tile(Tile::bk * dd::row_tile_stride<code_t>(Tile::bm));
  std::vector<code_t> b_tile(Tile::bk * Tile::bn);
  std::vector<dd::forward_registers<Tile>> regs(Tile::threads);
  const auto put = [splits](std::int32_t* p, std::int32_t v) {
    if (splits > 1) *p += v; else *p = v;
  };
  for (int z = 0; z < splits; ++z)
    for (std::int64_t row0 = 0; row0 < static_cast<std::int64_t>(y.rows); row0 += Tile::bm)
      for (std::int64_t col0 = 0; col0 < static_cast<std::int64_t>(y.cols); col0 += Tile::bn) {
        const dd::k_range range = dd::split_range(k, splits, z, Tile::bk);
        for (auto& r : regs) dd::clear(r);
        for (std::int64_t k0 = range.begin; k0 < range.end; k0 += Tile::bk) {
          const int steps = static_cast<int>(dd::min64(Tile::bk, range.end - k0));
          for (int tid = 0; tid < Tile::threads; ++tid) {
            dd::load_row_tile<Tile, code_t>(tid, a, row0, k0, range.end, a_tile.data());
            dd::load_col_tile<Tile>(tid, b, col0, k0, range.end, b_tile.data());
          }
          for (int tid = 0; tid < Tile::threads; ++tid)
            dd::accumulate_forward<Tile>(tid, a_tile.data(), b_tile.data(), steps, lut, bits,
                                         regs[static_cast<std::size_t>(tid)]);
        }
        for (int tid = 0; tid < Tile::threads; ++tid)
          dd::store_forward<Tile>(tid, row0, col0, regs[static_cast<std::size_t>(tid)], y, put);
      }
}

// out(p, q) = scale * sum_r W(p, r) * T[F(p, q)][C(r, q)] (see tiling.hpp for dA and dB), with
// the reduction split `splits` ways into partial outputs that are then summed in order.
template <class Tile, class Table>
void emulate_backward(const Table& table, int bits, float scale, matrix_view<const float> w,
                      matrix_view<const code_t> f, matrix_view<const code_t> c,
                      matrix_view<float> out, int splits = 1) {
  const auto reduction = static_cast<std::int64_t>(w.cols);
  std::vector<float> w_tile(Tile::bk * dd::row_tile_stride<float>(Tile::bm));
  std::vector<code_t> c_tile(Tile::bk * Tile::bn);
  std::vector<dd::backward_registers<Tile>> regs(Tile::threads);
  std::vector<float> partials(splits > 1 ? splits * out.rows * out.cols : 0);
  for (int z = 0; z < splits; ++z) {
    const dd::k_range range = dd::split_range(reduction, splits, z, Tile::bk);
    const auto target = splits > 1 ? dd::partial_view(partials.data(), z, out.rows, out.cols) : out;
    for (std::int64_t p0 = 0; p0 < static_cast<std::int64_t>(out.rows); p0 += Tile::bm)
      for (std::int64_t q0 = 0; q0 < static_cast<std::int64_t>(out.cols); q0 += Tile::bn) {
        for (int tid = 0; tid < Tile::threads; ++tid)
          dd::init_backward<Tile>(tid, f, p0, q0, bits, regs[static_cast<std::size_t>(tid)]);
        for (std::int64_t r0 = range.begin; r0 < range.end; r0 += Tile::bk) {
          const int steps = static_cast<int>(dd::min64(Tile::bk, range.end - r0));
          for (int tid = 0; tid < Tile::threads; ++tid) {
            dd::load_row_tile<Tile, float>(tid, w, p0, r0, range.end, w_tile.data());
            dd::load_col_tile<Tile>(tid, c, q0, r0, range.end, c_tile.data());
          }
          for (int tid = 0; tid < Tile::threads; ++tid)
            dd::accumulate_backward<Tile>(tid, w_tile.data(), c_tile.data(), steps, table,
                                          regs[static_cast<std::size_t>(tid)]);
        }
        for (int tid = 0; tid < Tile::threads; ++tid)
          dd::store_backward<Tile>(tid, p0, q0, regs[static_cast<std::size_t>(tid)], scale,
                                   target);
      }
  }
  if (splits > 1)
    for (std::int64_t e = 0; e < static_cast<std::int64_t>(out.rows * out.cols); ++e)
      dd::reduce_partials{partials.data(), splits, out}(e);
}

}  // namespace amgrad::test
