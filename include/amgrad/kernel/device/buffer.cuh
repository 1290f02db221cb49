#pragma once
// An owning, move-only array in device memory, for tables uploaded once and for tests.
#include <cstddef>
#include <utility>
#include <vector>

#include "amgrad/kernel/device/error.cuh"

namespace amgrad::kernel::device {

template <class T>
class buffer {
 public:
  buffer() = default;
  explicit buffer(std::size_t size) : size_(size) {
    if (size_ != 0) AMGRAD_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&data_), bytes()));
  }
  // Synchronous upload: tables are set up once, before any stream work that reads them.
  explicit buffer(const std::vector<T>& host) : buffer(host.size()) { upload(host); }
  buffer(const buffer&) = delete;
  buffer& operator=(const buffer&) = delete;
  buffer(buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  buffer& operator=(buffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~buffer() { release(); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }

  void upload(const std::vector<T>& host) {
    amgrad::require(host.size() == size_, "amgrad::kernel::device::buffer::upload",
                            "host data has ", host.size(), " elements, the buffer ", size_);
    if (size_ != 0)
      AMGRAD_CUDA_CHECK(cudaMemcpy(data_, host.data(), bytes(), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(size_);
    if (size_ != 0)
      AMGRAD_CUDA_CHECK(cudaMemcpy(host.data(), data_, bytes(), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  void release() noexcept {
    if (data_ != nullptr) (void)cudaFree(data_);  // a destructor must not throw
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace amgrad::kernel::device
