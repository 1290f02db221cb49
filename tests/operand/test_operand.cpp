#include "support.hpp"

using namespace amgrad;

TEST_CASE("operand code <-> value mapping covers the range in value order") {
  hana::for_each(test::all_operands, [](auto t) {
    using Op = typename decltype(t)::type;
    static_assert(Op::code(Op::min_value) == 0 && Op::code(Op::max_value) == Op::size - 1);
    CHECK(Op::max_value - Op::min_value + 1 == Op::size);
    for (int c = 0; c < Op::size; ++c) CHECK(Op::code(Op::value(c)) == c);
  });
  static_assert(s8::min_value == -128 && s8::max_value == 127);
  static_assert(u7::max_value == 127 && u7::min_value == 0);
  static_assert(s4::value(0) == -8);
}

TEST_CASE("run-time operand formats reject widths outside 2..8") {
  CHECK_NOTHROW((operand_format{2, true}.validate("test")));
  CHECK_THROWS_AS((operand_format{9, false}.validate("test")), amgrad::error);
  CHECK_THROWS_WITH_AS((operand_format{1, false}.validate("here")),
                       doctest::Contains("bit width = 1 is out of range"), amgrad::error);
  CHECK_THROWS_AS((product_table(operand_format{0, false})), amgrad::error);
}

TEST_CASE("tables refuse a wrong entry count") {
  CHECK_THROWS_WITH_AS((product_table(operand_format{4, false}, std::vector<std::int32_t>(255))),
                       doctest::Contains("needs 256 entries, got 255"), amgrad::error);
}
