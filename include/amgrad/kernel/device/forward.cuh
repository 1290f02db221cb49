#pragma once
// Device forward kernel: Y[i][j] = sum_k LUT[A[i][k]][B[k][j]], int32 accumulation, bit-exact.
//
// The whole product table sits in shared memory as 16-bit entries (128 KiB for 8-bit operands,
// opted in with cudaFuncSetAttribute; 32 KiB for 7-bit), int16 or uint16 chosen per table at
// upload. A table whose values fit neither runs the 32-bit fallback, which reads the table from
// global memory through the read-only cache: slower, never truncated. Operand tiles in shared
// memory, register tiles per thread, and the index arrangement are in detail/tiling.hpp, where
// the host tests emulate them. When the output alone cannot fill the GPU, K is split across
// blocks that add their partial sums with integer atomics: exact and deterministic.
//
// No hidden synchronisation: every launch and memset goes to the caller's stream.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "amgrad/kernel/device/buffer.cuh"
#include "amgrad/kernel/device/tiling.hpp"
#include "amgrad/kernel/device/error.cuh"
#include "amgrad/matrix.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad::detail {

namespace tiling = kernel::device::tiling;

template <class Tile, class Table>
__device__ __forceinline__ void forward_block(const Table& lut, int bits,
                                              const matrix_view<const code_t>& a,
                                              const matrix_view<const code_t>& b,
                                              const matrix_view<std::int32_t>& y, int splits,
                                              code_t* a_tile, code_t* b_tile) {
  const int tid = static_cast<int>(threadIdx.x);
  const std::int64_t row0 = static_cast<std::int64_t>(blockIdx.y) * Tile::bm;
  const std::int64_t col0 = static_cast<std::int64_t>(blockIdx.x) * Tile::bn;
  const tiling::k_range range = tiling::split_range(static_cast<std::int64_t>(a.cols), splits,
                                    static_cast<int>(blockIdx.z), Tile::bk);
  tiling::forward_registers<Tile> regs;
  tiling::clear(regs);
  for (std::int64_t k0 = range.begin; k0 < range.end; k0 += Tile::bk) {
    __syncthreads();  // the table is in place and the previous tiles are consumed
    tiling::load_row_tile<Tile, code_t>(tid, a, row0, k0, range.end, a_tile);
    tiling::load_col_tile<Tile>(tid, b, col0, k0, range.end, b_tile);
    __syncthreads();
    tiling::accumulate_forward<Tile>(tid, a_tile, b_tile,
                             static_cast<int>(tiling::min64(Tile::bk, range.end - k0)), lut, bits, regs);
  }
  if (splits > 1)
    tiling::store_forward<Tile>(tid, row0, col0, regs, y,
                        [](std::int32_t* p, std::int32_t v) { atomicAdd(p, v); });
  else
    tiling::store_forward<Tile>(tid, row0, col0, regs, y, [](std::int32_t* p, std::int32_t v) { *p = v; });
}

template <class Tile, class Entry>
__global__ void __launch_bounds__(Tile::threads, 1)
    forward_shared_table_kernel(const Entry* __restrict__ lut, int bits,
                                matrix_view<const code_t> a, matrix_view<const code_t> b,
                                matrix_view<std::int32_t> y, int splits) {
  extern __shared__ __align__(16) unsigned char amgrad_smem[];
  const tiling::smem_layout layout = tiling::make_smem_layout<Tile, code_t>(bits, sizeof(Entry));
  Entry* table = reinterpret_cast<Entry*>(amgrad_smem);
  const int chunks = static_cast<int>(tiling::table_entries(bits) * sizeof(Entry) / sizeof(uint4));
  for (int e = static_cast<int>(threadIdx.x); e < chunks; e += Tile::threads)
    reinterpret_cast<uint4*>(table)[e] = __ldg(reinterpret_cast<const uint4*>(lut) + e);
  forward_block<Tile>(tiling::direct_table<Entry>{table}, bits, a, b, y, splits,
                      reinterpret_cast<code_t*>(amgrad_smem + layout.row_tile_offset),
                      reinterpret_cast<code_t*>(amgrad_smem + layout.col_tile_offset));
}

template <class Tile>
__global__ void __launch_bounds__(Tile::threads, 1)
    forward_global_table_kernel(const std::int32_t* __restrict__ lut, int bits,
                                matrix_view<const code_t> a, matrix_view<const code_t> b,
                                matrix_view<std::int32_t> y, int splits) {
  extern __shared__ __align__(16) unsigned char amgrad_smem[];
  const tiling::smem_layout layout = tiling::make_smem_layout<Tile, code_t>(bits, 0);
  forward_block<Tile>(tiling::global_table{lut}, bits, a, b, y, splits,
                      reinterpret_cast<code_t*>(amgrad_smem + layout.row_tile_offset),
                      reinterpret_cast<code_t*>(amgrad_smem + layout.col_tile_offset));
}

// Zeroes a (possibly strided) int32 matrix on `stream`, before split-K partial sums are added.
inline void zero_async(const matrix_view<std::int32_t>& y, cudaStream_t stream) {
  if (y.rows == 0 || y.cols == 0) return;
  if (y.col_stride == 1)
    AMGRAD_CUDA_CHECK(cudaMemset2DAsync(y.data, static_cast<std::size_t>(y.row_stride) * 4, 0,
                                        y.cols * 4, y.rows, stream));
  else if (y.row_stride == 1)
    AMGRAD_CUDA_CHECK(cudaMemset2DAsync(y.data, static_cast<std::size_t>(y.col_stride) * 4, 0,
                                        y.rows * 4, y.cols, stream));
  else
    amgrad::fail("amgrad::kernel::device::forward", "split-K needs an output with one "
                         "unit stride");
}

// Sets the dynamic shared-memory opt-in of `kernel` and returns how many blocks an SM holds.
template <class Kernel>
int prepare_kernel(Kernel kernel, int threads, std::size_t smem_bytes) {
  if (smem_bytes > 48 * 1024)
    AMGRAD_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(smem_bytes)));
  int blocks = 0;
  AMGRAD_CUDA_CHECK(
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, threads, smem_bytes));
  amgrad::require(blocks > 0, "amgrad::kernel::device", "a kernel needing ", smem_bytes,
                          " bytes of shared memory and ", threads,
                          " threads cannot run on this device");
  return blocks;
}

}  // namespace amgrad::detail

namespace amgrad::kernel::device {

// The forward pass of one product table, uploaded once. Not tied to a stream: each call names
// the stream it runs on. Operands and output are device pointers (any strides; row-major is
// fastest).
class forward_kernel {
 public:
  using tile = tiling::forward_tile;

  explicit forward_kernel(const product_table& lut)
      : format_(lut.format()), props_(device_properties::current("amgrad::kernel::device::forward_kernel")) {
    amgrad::require(!lut.empty(), "amgrad::kernel::device::forward_kernel",
                            "the product table is empty");
    const auto [lo, hi] = std::minmax_element(lut.values().begin(), lut.values().end());
    max_abs_ = max_abs_product(lut);
    storage_ = choose_storage(*lo, *hi);
    smem_bytes_ = tiling::make_smem_layout<tile, code_t>(
                      format_.bits, storage_ == table_storage::global_int32 ? 0 : 2)
                      .total;
    if (storage_ != table_storage::global_int32 &&
        smem_bytes_ > static_cast<std::size_t>(props_.max_shared_per_block)) {
      // This device cannot hold the 16-bit table: read the 32-bit one from global memory.
      storage_ = table_storage::global_int32;
      smem_bytes_ = tiling::make_smem_layout<tile, code_t>(format_.bits, 0).total;
    }
    switch (storage_) {
      case table_storage::shared_int16:
        int16_ = buffer<std::int16_t>(narrowed<std::int16_t>(lut));
        blocks_per_sm_ = detail::prepare_kernel(
            detail::forward_shared_table_kernel<tile, std::int16_t>, tile::threads, smem_bytes_);
        break;
      case table_storage::shared_uint16:
        uint16_ = buffer<std::uint16_t>(narrowed<std::uint16_t>(lut));
        blocks_per_sm_ = detail::prepare_kernel(
            detail::forward_shared_table_kernel<tile, std::uint16_t>, tile::threads, smem_bytes_);
        break;
      case table_storage::global_int32:
        int32_ = buffer<std::int32_t>(lut.values());
        blocks_per_sm_ = detail::prepare_kernel(detail::forward_global_table_kernel<tile>,
                                                tile::threads, smem_bytes_);
        break;
    }
  }

  operand_format format() const { return format_; }
  table_storage storage() const { return storage_; }
  const device_properties& properties() const { return props_; }

  // The K splits a launch uses for this shape (1: none).
  int splits_for(std::size_t m, std::size_t n, std::size_t k) const {
    return tiling::choose_splits(static_cast<std::int64_t>(m), static_cast<std::int64_t>(n),
                                 static_cast<std::int64_t>(k), tile::bm, tile::bn, tile::bk,
                                 static_cast<std::int64_t>(props_.sm_count) * blocks_per_sm_,
                                 256);
  }

  // Y = sum_k AM(A, B). `splits` = 0 picks the split count; tests force others. Shapes are checked
  // here; codes must be valid for the table's width (see appmult_device::check_codes).
  void operator()(matrix_view<const code_t> a, matrix_view<const code_t> b,
                  matrix_view<std::int32_t> y, cudaStream_t stream = nullptr,
                  int splits = 0) const {
    constexpr const char* where = "amgrad::kernel::device::forward_kernel";
    amgrad::detail::require_gemm_shapes(where, a, b, y);
    amgrad::detail::require_int32_depth(where, a.cols, max_abs_);
    if (y.rows == 0 || y.cols == 0) return;
    if (splits <= 0) splits = splits_for(y.rows, y.cols, a.cols);
    splits = static_cast<int>(std::min<std::int64_t>(
        splits, std::max<std::int64_t>(1, tiling::ceil_div(static_cast<std::int64_t>(a.cols), tile::bk))));
    const std::int64_t grid_y = tiling::ceil_div(static_cast<std::int64_t>(y.rows), tile::bm);
    amgrad::require(grid_y <= 65535, where, "M = ", y.rows, " exceeds the grid limit of ",
                            65535 * tile::bm, " rows");
    const dim3 grid(static_cast<unsigned>(tiling::ceil_div(static_cast<std::int64_t>(y.cols), tile::bn)),
                    static_cast<unsigned>(grid_y), static_cast<unsigned>(splits));
    if (splits > 1) detail::zero_async(y, stream);
    switch (storage_) {
      case table_storage::shared_int16:
        detail::forward_shared_table_kernel<tile, std::int16_t>
            <<<grid, tile::threads, smem_bytes_, stream>>>(int16_.data(), format_.bits, a, b, y, splits);
        break;
      case table_storage::shared_uint16:
        detail::forward_shared_table_kernel<tile, std::uint16_t>
            <<<grid, tile::threads, smem_bytes_, stream>>>(uint16_.data(), format_.bits, a, b, y, splits);
        break;
      case table_storage::global_int32:
        detail::forward_global_table_kernel<tile>
            <<<grid, tile::threads, smem_bytes_, stream>>>(int32_.data(), format_.bits, a, b, y, splits);
        break;
    }
    AMGRAD_CUDA_CHECK_LAUNCH("amgrad forward kernel");
  }

 private:
  template <class Entry>
  static std::vector<Entry> narrowed(const product_table& lut) {
    std::vector<Entry> out(lut.size());
    for (std::size_t e = 0; e < lut.size(); ++e) out[e] = static_cast<Entry>(lut.data()[e]);
    return out;  // choose_storage has checked that every value fits
  }

  operand_format format_;
  std::int64_t max_abs_ = 0;  // max |AM|, for the int32 overflow check
  device_properties props_;
  table_storage storage_ = table_storage::global_int32;
  std::size_t smem_bytes_ = 0;
  int blocks_per_sm_ = 1;
  buffer<std::int16_t> int16_;
  buffer<std::uint16_t> uint16_;
  buffer<std::int32_t> int32_;
};

}  // namespace amgrad::kernel::device
