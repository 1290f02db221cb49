#pragma once
// Host forward kernel, prepared once per table. (First cut: the reference kernel; the fast
// row-table kernels replace the body without changing this interface.)
#include <cstdint>

#include "amgrad/kernel/host/reference.hpp"

namespace amgrad::kernel::host {

class forward_kernel {
 public:
  explicit forward_kernel(const product_table& lut) : lut_(lut) {}

  template <class Acc>
  void operator()(matrix_view<const code_t> a, matrix_view<const code_t> b,
                  matrix_view<Acc> y) const {
    reference::forward(lut_, a, b, y);
  }

 private:
  product_table lut_;
};

}  // namespace amgrad::kernel::host
