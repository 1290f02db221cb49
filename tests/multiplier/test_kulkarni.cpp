#include "properties.hpp"

using namespace amgrad;

// Hand-derived. The block: 3 * 3 = 7. 15 * 15 = four 3x3 blocks: 7 * (16 + 4 + 4 + 1) = 175.
// 11 * 7 = digits (2, 3) x (1, 3): 7 + 3*4 + 6*4 + 2*16 = 75 (exact 77).
static_assert(kulkarni::block(3, 3) == 7 && kulkarni::block(2, 3) == 6 && kulkarni::block(3, 1) == 3);
static_assert(kulkarni{}.unsigned_product(2, 3, 3) == 7);
static_assert(kulkarni{}.unsigned_product(4, 15, 15) == 175);
static_assert(kulkarni{}.unsigned_product(4, 11, 7) == 75);
static_assert(product_array<u6>(kulkarni{})[63 * 64 + 63] == 7 * (1 + 4 + 16) * (1 + 4 + 16));

namespace {

// Sum of 4^i over the 2-bit digits of x that equal 3.
int threes(int x) {
  int t = 0;
  for (int i = 0; i < 4; ++i)
    if (((x >> (2 * i)) & 3) == 3) t += 1 << (2 * i);
  return t;
}

}  // namespace

TEST_CASE("Kulkarni's error is 2 * 4^(i+j) for every pair of digits that are both 3") {
  // Each (3, 3) block loses 9 - 7 = 2 at weight 4^(i+j); summing over pairs factorises.
  int wrong = 0;
  test::for_all_pairs<u8>(
      [&](int a, int b) { wrong += a * b - kulkarni{}(u8{}, a, b) != 2 * threes(a) * threes(b); });
  test::for_all_pairs<u7>(
      [&](int a, int b) { wrong += a * b - kulkarni{}(u7{}, a, b) != 2 * threes(a) * threes(b); });
  test::for_all_pairs<u6>(
      [&](int a, int b) { wrong += a * b - kulkarni{}(u6{}, a, b) != 2 * threes(a) * threes(b); });
  CHECK(wrong == 0);
}

TEST_CASE("Kulkarni's error rate: a product is wrong iff both operands have a digit 3") {
  // m digits: 4^m - 3^m values have a digit 3. For 7 bits, the top digit is 0 or 1 (zero
  // extension), so 2 * 3^3 of the 128 values have none.
  auto wrong_pairs = [](auto op) {
    using Op = decltype(op);
    int n = 0;
    test::for_all_pairs<Op>([&](int a, int b) { n += kulkarni{}(Op{}, a, b) != a * b; });
    return n;
  };
  CHECK(wrong_pairs(u8{}) == (256 - 81) * (256 - 81));
  CHECK(wrong_pairs(u6{}) == (64 - 27) * (64 - 27));
  CHECK(wrong_pairs(u7{}) == (128 - 54) * (128 - 54));
  CHECK(wrong_pairs(u4{}) == 7 * 7);
}

TEST_CASE("Kulkarni under-estimates by at most 2/9 of the product") {
  int outside = 0;
  test::for_all_pairs<u8>([&](int a, int b) {
    const int p = kulkarni{}(u8{}, a, b);
    outside += p > a * b || 9 * (a * b - p) > 2 * a * b;
  });
  CHECK(outside == 0);
  CHECK(kulkarni{}(u8{}, 3, 3) == 7);  // the 2/9 worst case
}

TEST_CASE("Kulkarni is sign-magnitude, with odd widths zero-extended") {
  test::check_sign_magnitude<8>(kulkarni{});
  test::check_sign_magnitude<7>(kulkarni{});
  // -64 (7 bits) has magnitude 64 = digits (1, 0, 0, 0): exact.
  CHECK(kulkarni{}(s7{}, -64, 63) == -64 * 63);
}
