// amgrad::core alone: a built-in model's truth table, its LUT-2D gradient tables and the
// reference forward kernel, with every core header included (amgrad_core_headers.hpp, generated
// by the test) while zlib.h, cblas.h, Thrust and CUDA headers are poisoned.
#include <amgrad/gradient/lut2d.hpp>
#include <amgrad/kernel/reference.hpp>
#include <amgrad/multiplier/builtin.hpp>
#include <amgrad/multiplier/product_table.hpp>

#include <cstdint>
#include <cstdio>
#include <utility>
#include <vector>

#include "amgrad_core_headers.hpp"

int main() {
  const amgrad::product_table lut = amgrad::make_product_table<amgrad::u8>(amgrad::mitchell{});
  const amgrad::gradient_tables grads = amgrad::lut2d{}.tables(lut);

  const std::vector<amgrad::code_t> a{200, 17, 3, 255}, b{255, 1, 2, 128};
  std::vector<std::int32_t> y(4);
  amgrad::kernel::reference::forward(lut, amgrad::row_major(a.data(), 2, 2),
                                     amgrad::row_major(b.data(), 2, 2),
                                     amgrad::row_major(y.data(), 2, 2));
  const long expected = long{lut(200, 255)} + lut(17, 2);
  const float da = grads.da(200, 255);  // ~ b = 255 for a near-exact multiplier
  std::printf("y[0][0] = %d (expected %ld), dAM/da(200, 255) = %.2f\n", y[0], expected, da);
  return y[0] == expected && da > 100.0f ? 0 : 1;
}
