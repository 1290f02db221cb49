#pragma once
// Device backward kernels.
//   * Any gradient table (LUT-2D): the forward kernel's structure over the 16-bit fixed-point
//     table round(16 g) in shared memory (as the published CUDA code stores it), float
//     accumulation of dY * T / 16. dA and dB are one kernel: dB is dA of the transposed problem.
//   * Separable schemes (STE, LUT-1D): an elementwise map of the codes through g (Thrust), then
//     one cuBLAS sgemm. STE is the same path with g = the operand value, so the LUT-1D / STE cost
//     ratio is the ratio of two identical pipelines.
// No hidden synchronisation: maps, temporaries (stream-ordered allocations from the library's
// own memory pool) and GEMMs all go to the caller's stream.
#include <climits>
#include <cstdint>
#include <memory>
#include <utility>

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/system/cuda/execution_policy.h>
#include <thrust/transform.h>

#include "amgrad/table/gradient_tables.hpp"
#include "amgrad/kernel/device/buffer.cuh"
#include "amgrad/kernel/device/tiling.hpp"
#include "amgrad/kernel/device/error.cuh"
#include "amgrad/kernel/device/forward.cuh"
#include "amgrad/matrix.hpp"

namespace amgrad::detail {

namespace tiling = kernel::device::tiling;

// out(p, q) = scale * sum_r W(p, r) * T[F(p, q)][C(r, q)]; see tiling.hpp for the dA/dB mapping.
template <class Tile, bool SharedTable>
__global__ void __launch_bounds__(Tile::threads, 1)
    backward_table_kernel(const std::int16_t* __restrict__ table, int bits, float scale,
                          matrix_view<const float> w, matrix_view<const code_t> f,
                          matrix_view<const code_t> c, matrix_view<float> out, int splits,
                          float* partials) {
  extern __shared__ __align__(16) unsigned char amgrad_smem[];
  const tiling::smem_layout layout = tiling::make_smem_layout<Tile, float>(bits, SharedTable ? 2 : 0);
  const int tid = static_cast<int>(threadIdx.x);
  const std::int16_t* entries = table;
  if constexpr (SharedTable) {
    auto* shared = reinterpret_cast<std::int16_t*>(amgrad_smem);
    const int chunks = static_cast<int>(tiling::table_entries(bits) * 2 / sizeof(uint4));
    for (int e = tid; e < chunks; e += Tile::threads)
      reinterpret_cast<uint4*>(shared)[e] = __ldg(reinterpret_cast<const uint4*>(table) + e);
    entries = shared;
  }
  float* w_tile = reinterpret_cast<float*>(amgrad_smem + layout.row_tile_offset);
  code_t* c_tile = reinterpret_cast<code_t*>(amgrad_smem + layout.col_tile_offset);
  const std::int64_t p0 = static_cast<std::int64_t>(blockIdx.y) * Tile::bm;
  const std::int64_t q0 = static_cast<std::int64_t>(blockIdx.x) * Tile::bn;
  const int z = static_cast<int>(blockIdx.z);
  const tiling::k_range range = tiling::split_range(static_cast<std::int64_t>(w.cols), splits, z, Tile::bk);
  tiling::backward_registers<Tile> regs;
  tiling::init_backward<Tile>(tid, f, p0, q0, bits, regs);
  for (std::int64_t r0 = range.begin; r0 < range.end; r0 += Tile::bk) {
    __syncthreads();
    tiling::load_row_tile<Tile, float>(tid, w, p0, r0, range.end, w_tile);
    tiling::load_col_tile<Tile>(tid, c, q0, r0, range.end, c_tile);
    __syncthreads();
    tiling::accumulate_backward<Tile>(tid, w_tile, c_tile,
                              static_cast<int>(tiling::min64(Tile::bk, range.end - r0)),
                              tiling::direct_table<std::int16_t>{entries}, regs);
  }
  tiling::store_backward<Tile>(tid, p0, q0, regs, scale,
                       splits > 1 ? tiling::partial_view(partials, z, out.rows, out.cols) : out);
}

// Y[r][c] = g[view(r, c)]: the elementwise map of the separable schemes.
struct map_codes {
  matrix_view<const code_t> view;
  const float* g;
  AMGRAD_HOST_DEVICE float operator()(std::int64_t index) const {
    const auto cols = static_cast<std::int64_t>(view.cols);
    return g[view(static_cast<std::size_t>(index / cols), static_cast<std::size_t>(index % cols))];
  }
};

// The library's own stream-ordered memory pool on the current device, for temporaries. Its
// release threshold is unlimited, so memory freed on a stream is reused by the next call instead
// of going back to the driver at every synchronisation (the default pool's threshold is 0),
// without changing the process-wide default pool.
class scratch_pool {
 public:
  scratch_pool() {
    int device = 0;
    AMGRAD_CUDA_CHECK(cudaGetDevice(&device));
    cudaMemPoolProps props{};
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = device;
    cudaMemPool_t pool = nullptr;
    AMGRAD_CUDA_CHECK(cudaMemPoolCreate(&pool, &props));
    pool_.reset(pool, [](cudaMemPool_t p) { (void)cudaMemPoolDestroy(p); });
    std::uint64_t keep = ~std::uint64_t{0};
    AMGRAD_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
  }
  cudaMemPool_t get() const { return pool_.get(); }

 private:
  std::shared_ptr<CUmemPoolHandle_st> pool_;
};

// A stream-ordered temporary: allocated and freed on the caller's stream, no synchronisation.
class stream_scratch {
 public:
  stream_scratch(const scratch_pool& pool, std::size_t bytes, cudaStream_t stream)
      : stream_(stream) {
    if (bytes != 0)
      AMGRAD_CUDA_CHECK(cudaMallocFromPoolAsync(&data_, bytes, pool.get(), stream_));
  }
  stream_scratch(const stream_scratch&) = delete;
  stream_scratch& operator=(const stream_scratch&) = delete;
  ~stream_scratch() {
    if (data_ != nullptr) (void)cudaFreeAsync(data_, stream_);
  }
  float* floats() const { return static_cast<float*>(data_); }

 private:
  void* data_ = nullptr;
  cudaStream_t stream_;
};

inline int gemm_dim(std::size_t x, const char* where) {
  amgrad::require(x <= static_cast<std::size_t>(INT_MAX), where, "dimension ", x,
                          " exceeds cuBLAS's int range");
  return static_cast<int>(x);
}

// A cuBLAS handle for the FP32 GEMMs of the backward kernels: no TF32 (unless
// NVIDIA_TF32_OVERRIDE forces it process-wide), so results stay within float rounding of the
// double reference.
inline std::shared_ptr<cublasContext> make_fp32_cublas_handle() {
  cublasHandle_t handle = nullptr;
  AMGRAD_CUBLAS_CHECK(cublasCreate(&handle));
  std::shared_ptr<cublasContext> owned(handle, [](cublasHandle_t h) { (void)cublasDestroy(h); });
  AMGRAD_CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));
  return owned;
}

}  // namespace amgrad::detail

namespace amgrad::kernel::device {

// Backward through full gradient tables (LUT-2D or any other non-separable scheme).
class backward_table_kernel {
 public:
  using tile = tiling::backward_tile;

  explicit backward_table_kernel(const gradient_tables& g)
      : format_(g.da.format()),
        props_(device_properties::current("amgrad::kernel::device::backward_table_kernel")) {
    const auto fixed_da = to_fixed_point(g.da, scale_inverse);  // throws if a value does not fit
    const auto fixed_db = to_fixed_point(g.db, scale_inverse);
    // The dB pass reads the table transposed: T'[b][a] = round(16 dAM/db (a, b)).
    std::vector<std::int16_t> db_t(fixed_db.size());
    for (int x = 0; x < fixed_db.side(); ++x)
      for (int y = 0; y < fixed_db.side(); ++y)
        db_t[static_cast<std::size_t>(y) * fixed_db.side() + x] = fixed_db(x, y);
    da_ = buffer<std::int16_t>(fixed_da.values());
    db_t_ = buffer<std::int16_t>(db_t);
    smem_bytes_ = tiling::make_smem_layout<tile, float>(format_.bits, 2).total;
    shared_table_ = smem_bytes_ <= static_cast<std::size_t>(props_.max_shared_per_block);
    if (shared_table_) {
      blocks_per_sm_ = detail::prepare_kernel(detail::backward_table_kernel<tile, true>,
                                              tile::threads, smem_bytes_);
    } else {  // a device with less shared memory: the same table from global memory
      smem_bytes_ = tiling::make_smem_layout<tile, float>(format_.bits, 0).total;
      blocks_per_sm_ = detail::prepare_kernel(detail::backward_table_kernel<tile, false>,
                                              tile::threads, smem_bytes_);
    }
  }

  static constexpr double scale_inverse = fixed_point_scale;  // the table holds round(16 g)
  bool shared_table() const { return shared_table_; }

  // Reduction splits for an output of rows x cols with a reduction of length `reduction`: a
  // small output (the dB of a layer with few channels, say) is spread over the GPU, and the
  // partial outputs are summed in a fixed order (deterministic).
  int splits_for(std::size_t rows, std::size_t cols, std::size_t reduction) const {
    return tiling::choose_splits(static_cast<std::int64_t>(rows), static_cast<std::int64_t>(cols),
                                 static_cast<std::int64_t>(reduction), tile::bm, tile::bn,
                                 tile::bk,
                                 static_cast<std::int64_t>(props_.sm_count) * blocks_per_sm_, 256);
  }

  // dA[i][k] = sum_j dY[i][j] * dAM/da(A[i][k], B[k][j])
  void da(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out, cudaStream_t stream = nullptr) const {
    constexpr const char* where = "amgrad::kernel::device::backward_table_kernel::da";
    amgrad::detail::require_da_shapes(where, a, b, dy, out);
    launch(da_.data(), dy, a, b.transposed(), out, stream);
  }

  // dB[k][j] = sum_i dY[i][j] * dAM/db(A[i][k], B[k][j]): dA of the transposed problem.
  void db(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out, cudaStream_t stream = nullptr) const {
    constexpr const char* where = "amgrad::kernel::device::backward_table_kernel::db";
    amgrad::detail::require_db_shapes(where, a, b, dy, out);
    launch(db_t_.data(), dy.transposed(), b.transposed(), a, out.transposed(), stream);
  }

 private:
  void launch(const std::int16_t* table, matrix_view<const float> w, matrix_view<const code_t> f,
              matrix_view<const code_t> c, matrix_view<float> out, cudaStream_t stream) const {
    if (out.rows == 0 || out.cols == 0) return;
    const std::int64_t grid_y = tiling::ceil_div(static_cast<std::int64_t>(out.rows), tile::bm);
    amgrad::require(grid_y <= 65535, "amgrad::kernel::device::backward_table_kernel",
                            "the output has too many rows (", out.rows, ") for one grid");
    dim3 grid(
        static_cast<unsigned>(tiling::ceil_div(static_cast<std::int64_t>(out.cols), tile::bn)),
        static_cast<unsigned>(grid_y));
    const int splits = splits_for(out.rows, out.cols, w.cols);
    grid.z = static_cast<unsigned>(splits);
    const float scale = static_cast<float>(1.0 / scale_inverse);
    detail::stream_scratch partials(
        pool_, splits > 1 ? splits * out.rows * out.cols * sizeof(float) : 0, stream);
    if (shared_table_)
      detail::backward_table_kernel<tile, true><<<grid, tile::threads, smem_bytes_, stream>>>(
          table, format_.bits, scale, w, f, c, out, splits, partials.floats());
    else
      detail::backward_table_kernel<tile, false><<<grid, tile::threads, smem_bytes_, stream>>>(
          table, format_.bits, scale, w, f, c, out, splits, partials.floats());
    AMGRAD_CUDA_CHECK_LAUNCH("amgrad backward table kernel");
    if (splits > 1) {
      thrust::for_each_n(thrust::cuda::par_nosync.on(stream),
                         thrust::counting_iterator<std::int64_t>(0),
                         static_cast<std::int64_t>(out.rows * out.cols),
                         tiling::reduce_partials{partials.floats(), splits, out});
      AMGRAD_CUDA_CHECK_LAUNCH("amgrad backward split reduction (thrust::for_each_n)");
    }
  }

  operand_format format_;
  device_properties props_;
  buffer<std::int16_t> da_;
  buffer<std::int16_t> db_t_;
  std::size_t smem_bytes_ = 0;
  int blocks_per_sm_ = 1;
  bool shared_table_ = true;
  detail::scratch_pool pool_;
};

// Backward of separable schemes: dA = dY . g_a(B)^T and dB = g_b(A)^T . dY, each an elementwise
// map then one cuBLAS sgemm (FP32, no TF32). dY and the outputs must be row-major (unit column
// stride); the code operands may have any strides. Calls sharing one object must not run
// concurrently from several host threads (they share one cuBLAS handle).
class backward_separable_kernel {
 public:
  explicit backward_separable_kernel(const separable_gradients& g)
      : device_("amgrad::kernel::device::backward_separable_kernel"),
        da_of_b_(g.da_of_b),
        db_of_a_(g.db_of_a),
        handle_(amgrad::detail::make_fp32_cublas_handle()) {}

  // dA (M x K) = dY (M x N) . G^T, G[k][j] = g_a(B[k][j]).
  void da(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out, cudaStream_t stream = nullptr) const {
    constexpr const char* where = "amgrad::kernel::device::backward_separable_kernel::da";
    amgrad::detail::require_da_shapes(where, a, b, dy, out);
    require_row_major(where, dy, out);
    if (out.rows == 0 || out.cols == 0) return;
    detail::stream_scratch g(pool_, b.rows * b.cols * sizeof(float), stream);
    map(b, da_of_b_.data(), g.floats(), stream);
    if (dy.cols == 0) return zero(out, stream);
    // Column-major view: out^T (K x M) = G (K x N) . dY^T (N x M).
    sgemm_into(where, CUBLAS_OP_T, CUBLAS_OP_N, dy.cols, g.floats(), b.cols, dy.data,
               static_cast<std::size_t>(dy.row_stride), out, stream);
  }

  // dB (K x N) = H^T . dY, H[i][k] = g_b(A[i][k]).
  void db(matrix_view<const code_t> a, matrix_view<const code_t> b, matrix_view<const float> dy,
          matrix_view<float> out, cudaStream_t stream = nullptr) const {
    constexpr const char* where = "amgrad::kernel::device::backward_separable_kernel::db";
    amgrad::detail::require_db_shapes(where, a, b, dy, out);
    require_row_major(where, dy, out);
    if (out.rows == 0 || out.cols == 0) return;
    detail::stream_scratch h(pool_, a.rows * a.cols * sizeof(float), stream);
    map(a, db_of_a_.data(), h.floats(), stream);
    if (a.rows == 0) return zero(out, stream);
    // Column-major view: out^T (N x K) = dY^T (N x M) . H (M x K).
    sgemm_into(where, CUBLAS_OP_N, CUBLAS_OP_T, a.rows, dy.data,
               static_cast<std::size_t>(dy.row_stride), h.floats(), a.cols, out, stream);
  }

 private:
  // cuBLAS is column-major, so a row-major `out` is its out^T (out.cols x out.rows):
  // out^T = op(x) (out.cols x depth) . op(y) (depth x out.rows), with leading dimensions ldx, ldy.
  void sgemm_into(const char* where, cublasOperation_t op_x, cublasOperation_t op_y,
                  std::size_t depth, const float* x, std::size_t ldx, const float* y,
                  std::size_t ldy, const matrix_view<float>& out, cudaStream_t stream) const {
    const float one = 1.0f, zero_f = 0.0f;
    AMGRAD_CUBLAS_CHECK(cublasSetStream(handle_.get(), stream));
    AMGRAD_CUBLAS_CHECK(cublasSgemm(
        handle_.get(), op_x, op_y, detail::gemm_dim(out.cols, where),
        detail::gemm_dim(out.rows, where), detail::gemm_dim(depth, where), &one, x,
        detail::gemm_dim(ldx, where), y, detail::gemm_dim(ldy, where), &zero_f, out.data,
        detail::gemm_dim(static_cast<std::size_t>(out.row_stride), where)));
  }

  static void require_row_major(const char* where, const matrix_view<const float>& dy,
                                const matrix_view<float>& out) {
    amgrad::require(dy.col_stride == 1 && out.col_stride == 1, where,
                            "dY and the output must be row-major (unit column stride) for cuBLAS");
  }
  static void map(const matrix_view<const code_t>& codes, const float* g, float* out,
                  cudaStream_t stream) {
    const auto n = static_cast<std::int64_t>(codes.rows * codes.cols);
    if (n == 0) return;
    thrust::transform(thrust::cuda::par_nosync.on(stream), thrust::counting_iterator<std::int64_t>(0),
                      thrust::counting_iterator<std::int64_t>(n), out, detail::map_codes{codes, g});
    AMGRAD_CUDA_CHECK_LAUNCH("amgrad code map (thrust::transform)");
  }
  static void zero(const matrix_view<float>& out, cudaStream_t stream) {
    AMGRAD_CUDA_CHECK(cudaMemset2DAsync(out.data, static_cast<std::size_t>(out.row_stride) * 4, 0,
                                        out.cols * 4, out.rows, stream));
  }

  device_present device_;  // first: a missing device is reported before any allocation
  buffer<float> da_of_b_;
  buffer<float> db_of_a_;
  std::shared_ptr<cublasContext> handle_;
  detail::scratch_pool pool_;
};

}  // namespace amgrad::kernel::device
