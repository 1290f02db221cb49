#include <algorithm>
#include <string_view>

#include "properties.hpp"

using namespace amgrad;

// Every built-in model works in constant expressions: a whole 4-bit table at compile time.
static_assert(product_array<u4>(drum{3})[13 * 16 + 6] == 84);
static_assert(product_array<u4>(mitchell{})[3 * 16 + 3] == 8);
static_assert(product_array<u4>(etm{2})[7 * 16 + 6] == 31);
static_assert(product_array<s4>(bam{1, 3})[s4::code(-7) * 16 + s4::code(7)] == -bam{1, 3}(u4{}, 7, 7));
static_assert(is_builtin_model("drum") && !is_builtin_model("broken_array"));

TEST_CASE("the built-in names are distinct and each model's name is listed") {
  auto names = builtin_model_names;
  std::sort(names.begin(), names.end());
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
  hana::for_each(test::all_models, [](const auto& model) {
    CHECK(is_builtin_model(std::decay_t<decltype(model)>::name));
  });
}

namespace {

template <class Operand, class Model>
void check_forward_against_naive(const Model& model, int trials) {
  const appmult<Model, Operand, ste> engine(model);
  const auto& lut = engine.lut();
  for (int trial = 0; trial < trials; ++trial) {
    const auto m = test::random_size(1, 130), n = test::random_size(1, 130),
               k = test::random_size(1, 130);
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    const auto a = test::random_codes<Operand>(m * k);
    const auto b = test::random_codes<Operand>(k * n);
    const auto expected = test::naive_forward<Operand>(model, a, b, m, n, k);

    std::vector<std::int64_t> y64(m * n, -7);
    kernel::reference::forward(lut, row_major(a.data(), m, k), row_major(b.data(), k, n),
                               row_major(y64.data(), m, n));
    CHECK(y64 == expected);

    std::vector<std::int32_t> y32(m * n, -7);
    engine.forward(row_major(a.data(), m, k), row_major(b.data(), k, n),
                   row_major(y32.data(), m, n));
    CHECK(std::equal(y32.begin(), y32.end(), expected.begin(), expected.end()));

    // B stored transposed (N x K), through the engine.
    std::vector<code_t> bt(n * k);
    for (std::size_t p = 0; p < k; ++p)
      for (std::size_t j = 0; j < n; ++j) bt[j * k + p] = b[p * n + j];
    std::fill(y64.begin(), y64.end(), -7);
    engine.forward(row_major(a.data(), m, k), row_major(bt.data(), n, k).transposed(),
                   row_major(y64.data(), m, n));
    CHECK(y64 == expected);
  }
}

}  // namespace

TEST_CASE("forward (reference kernel and appmult) equals the naive loop, every model x operand") {
  int configurations = 0;
  test::for_each_supported(test::all_models, test::all_operands, [&](const auto& model, auto t) {
    using Operand = typename decltype(t)::type;
    using Model = std::decay_t<decltype(model)>;
    CAPTURE(std::string_view(Model::name));
    CAPTURE(to_string(Operand::format));
    check_forward_against_naive<Operand>(model, 4);
    ++configurations;
  });
  // 6 sign-magnitude models x 8 operands + 2 unsigned-only models x 4 operands.
  CHECK(configurations == 6 * 8 + 2 * 4);
}
