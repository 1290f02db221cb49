// amgrad in a few lines: pick a multiplier, an operand format and a gradient scheme; run the
// bit-exact AppMult GEMM forward and the estimated-gradient backward.
#include <amgrad/amgrad.hpp>

#include <cstdio>
#include <vector>

int main() {
  // 8-bit unsigned operands, the multiplier that drops its 8 rightmost partial-product columns,
  // and the LUT-2D gradient with the paper's default window (HWS = 32 at 8 bits).
  const amgrad::appmult<amgrad::truncated, amgrad::u8, amgrad::lut2d> mult{amgrad::truncated{8}};

  const std::size_t m = 2, k = 3, n = 2;
  std::vector<amgrad::code_t> a{10, 200, 37, 255, 0, 128};  // activations, m x k
  std::vector<amgrad::code_t> b{3, 250, 77, 1, 100, 64};    // weights, k x n
  std::vector<std::int32_t> y(m * n);
  mult.forward(amgrad::row_major(a.data(), m, k), amgrad::row_major(b.data(), k, n),
               amgrad::row_major(y.data(), m, n));

  std::vector<float> dy(m * n, 1.0f), da(m * k), db(k * n);
  mult.backward_da(amgrad::row_major(a.data(), m, k), amgrad::row_major(b.data(), k, n),
                   amgrad::row_major(dy.data(), m, n), amgrad::row_major(da.data(), m, k));
  mult.backward_db(amgrad::row_major(a.data(), m, k), amgrad::row_major(b.data(), k, n),
                   amgrad::row_major(dy.data(), m, n), amgrad::row_major(db.data(), k, n));

  std::printf("Y  = [%d %d; %d %d]   (exact: [%d %d; %d %d])\n", y[0], y[1], y[2], y[3],
              10 * 3 + 200 * 77 + 37 * 100, 10 * 250 + 200 * 1 + 37 * 64,
              255 * 3 + 0 * 77 + 128 * 100, 255 * 250 + 0 * 1 + 128 * 64);
  std::printf("dA = [%.2f %.2f %.2f; %.2f %.2f %.2f]\n", da[0], da[1], da[2], da[3], da[4], da[5]);
  std::printf("dB = [%.2f %.2f; %.2f %.2f; %.2f %.2f]\n", db[0], db[1], db[2], db[3], db[4], db[5]);
}
