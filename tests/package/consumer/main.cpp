// Checks that the package brings its headers and dependencies: one forward and one backward.
#include <amgrad/amgrad.hpp>

#include <cstdio>
#include <vector>

int main() {
  const amgrad::appmult<amgrad::truncated, amgrad::u8, amgrad::lut1d> engine{amgrad::truncated{8}};
  std::vector<amgrad::code_t> a{200, 17, 3, 255}, b{255, 1, 2, 128};
  std::vector<std::int32_t> y(4);
  engine.forward(amgrad::row_major(a.data(), 2, 2), amgrad::row_major(b.data(), 2, 2),
                 amgrad::row_major(y.data(), 2, 2));
  const auto lut = engine.lut();
  const long expected = long{lut(200, 255)} + lut(17, 2);
  std::printf("y[0][0] = %d (expected %ld)\n", y[0], expected);
  return y[0] == expected ? 0 : 1;
}
