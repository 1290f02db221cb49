#pragma once
// The nvcc half of the Torch layer's CUDA path (torch/device.hpp). Include it in exactly one
// CUDA source of the target that runs the layers (the Python extension does, in
// python/src/device.cu): it registers the factory of device AM-GEMMs when the program or module
// loads. No Torch header here, so LibTorch never has to compile under nvcc.
#include <cuda_runtime.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <type_traits>
#include <variant>
#include <vector>

#include "amgrad/kernel/device/backward.cuh"
#include "amgrad/kernel/device/error.cuh"
#include "amgrad/kernel/device/forward.cuh"
#include "amgrad/torch/device.hpp"

namespace amgrad::detail {

// Makes `device` current for a scope and restores the caller's device after it.
class scoped_device {
 public:
  explicit scoped_device(int device) {
    AMGRAD_CUDA_CHECK(cudaGetDevice(&previous_));
    if (device != previous_) AMGRAD_CUDA_CHECK(cudaSetDevice(device));
  }
  scoped_device(const scoped_device&) = delete;
  scoped_device& operator=(const scoped_device&) = delete;
  ~scoped_device() { (void)cudaSetDevice(previous_); }

 private:
  int previous_ = 0;
};

// A packed row-major copy of a host matrix in stream-ordered device memory.
template <class T>
class staged_matrix {
 public:
  staged_matrix(const scratch_pool& pool, std::size_t rows, std::size_t cols,
                cudaStream_t stream)
      : rows_(rows), cols_(cols), stream_(stream) {
    if (bytes() != 0)
      AMGRAD_CUDA_CHECK(cudaMallocFromPoolAsync(&data_, bytes(), pool.get(), stream_));
  }
  staged_matrix(const staged_matrix&) = delete;
  staged_matrix& operator=(const staged_matrix&) = delete;
  ~staged_matrix() {
    if (data_ != nullptr) (void)cudaFreeAsync(data_, stream_);
  }

  // Host -> device; a strided view is packed on the host first.
  void upload(matrix_view<const T> host) {
    if (bytes() == 0) return;
    if (host.is_row_major() && host.row_stride == static_cast<std::ptrdiff_t>(cols_)) {
      AMGRAD_CUDA_CHECK(cudaMemcpyAsync(data_, host.data, bytes(), cudaMemcpyHostToDevice, stream_));
      AMGRAD_CUDA_CHECK(cudaStreamSynchronize(stream_));  // the host buffer may go after return
      return;
    }
    std::vector<T> packed(rows_ * cols_);
    for (std::size_t r = 0; r < rows_; ++r)
      for (std::size_t c = 0; c < cols_; ++c) packed[r * cols_ + c] = host(r, c);
    AMGRAD_CUDA_CHECK(cudaMemcpyAsync(data_, packed.data(), bytes(), cudaMemcpyHostToDevice, stream_));
    AMGRAD_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  // Device -> host, after the stream's work; waits for it.
  void download(matrix_view<std::remove_const_t<T>> host) const {
    if (bytes() == 0) return;
    std::vector<T> packed(rows_ * cols_);
    AMGRAD_CUDA_CHECK(cudaMemcpyAsync(packed.data(), data_, bytes(), cudaMemcpyDeviceToHost, stream_));
    AMGRAD_CUDA_CHECK(cudaStreamSynchronize(stream_));
    for (std::size_t r = 0; r < rows_; ++r)
      for (std::size_t c = 0; c < cols_; ++c) host(r, c) = packed[r * cols_ + c];
  }

  matrix_view<T> view() const { return {static_cast<T*>(data_), rows_, cols_, static_cast<std::ptrdiff_t>(cols_), 1}; }

 private:
  std::size_t bytes() const { return rows_ * cols_ * sizeof(T); }
  void* data_ = nullptr;
  std::size_t rows_, cols_;
  cudaStream_t stream_;
};

class staged_device_gemm final : public nn::gemm_kernels {
 public:
  using table_kernel = kernel::device::backward_table_kernel;
  using separable_kernel = kernel::device::backward_separable_kernel;

  // Called with `device` current (make_staged_device_gemm), so every upload lands there.
  staged_device_gemm(const product_table& lut, const nn::kernel_gradients& grads, int device)
      : device_(device),
        forward_(lut),
        backward_(nn::make_backward_kernel<table_kernel, separable_kernel>(grads)) {}

  void forward(matrix_view<const code_t> a, matrix_view<const code_t> b,
               matrix_view<std::int32_t> y, std::uintptr_t stream) const override {
    amgrad::detail::require_gemm_shapes("amgrad::nn::gemm_kernels::forward", a, b, y);
    run(stream, [&](cudaStream_t s) {
      const auto da = stage(a, s), db = stage(b, s);
      staged_matrix<std::int32_t> dy(pool_, y.rows, y.cols, s);
      forward_(da->view(), db->view(), dy.view(), s);
      dy.download(y);
    });
  }
  void backward_da(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> da,
                   std::uintptr_t stream) const override {
    amgrad::detail::require_da_shapes("amgrad::nn::gemm_kernels::backward_da", a, b, dy, da);
    backward(a, b, dy, da, stream, [](const auto& k, auto... args) { k.da(args...); });
  }
  void backward_db(matrix_view<const code_t> a, matrix_view<const code_t> b,
                   matrix_view<const float> dy, matrix_view<float> db,
                   std::uintptr_t stream) const override {
    amgrad::detail::require_db_shapes("amgrad::nn::gemm_kernels::backward_db", a, b, dy, db);
    backward(a, b, dy, db, stream, [](const auto& k, auto... args) { k.db(args...); });
  }

 private:
  template <class T>
  std::unique_ptr<staged_matrix<T>> stage(matrix_view<const T> host, cudaStream_t s) const {
    auto m = std::make_unique<staged_matrix<T>>(pool_, host.rows, host.cols, s);
    m->upload(host);
    return m;
  }

  // One call at a time per object (the separable kernel's cuBLAS handle is not shareable), on
  // this object's device.
  template <class F>
  void run(std::uintptr_t stream, F&& body) const {
    const std::lock_guard lock(mutex_);
    const scoped_device on(device_);
    body(reinterpret_cast<cudaStream_t>(stream));
  }

  template <class Call>
  void backward(matrix_view<const code_t> a, matrix_view<const code_t> b,
                matrix_view<const float> dy, matrix_view<float> out, std::uintptr_t stream,
                Call call) const {
    run(stream, [&](cudaStream_t s) {
      const auto da = stage(a, s), db = stage(b, s);
      const auto ddy = stage(dy, s);
      staged_matrix<float> dout(pool_, out.rows, out.cols, s);
      std::visit([&](const auto& k) { call(k, da->view(), db->view(), ddy->view(), dout.view(), s); },
                 backward_);
      dout.download(out);
    });
  }

  int device_;
  kernel::device::forward_kernel forward_;
  nn::backward_kernel_for<table_kernel, separable_kernel> backward_;
  scratch_pool pool_;
  mutable std::mutex mutex_;
};

inline std::unique_ptr<const nn::gemm_kernels> make_staged_device_gemm(
    const product_table& lut, const nn::kernel_gradients& grads, int device) {
  kernel::device::require_device("amgrad::nn (CUDA tensor)");
  const scoped_device on(device);
  return std::make_unique<const staged_device_gemm>(lut, grads, device);
}

// Registered when the including program or module loads.
inline const bool device_gemm_registered =
    (nn::set_device_gemm_factory(&make_staged_device_gemm), true);

}  // namespace amgrad::detail
