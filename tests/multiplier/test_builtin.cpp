#include <algorithm>
#include <fstream>
#include <string>
#include <vector>
#include <string_view>

#include "properties.hpp"

using namespace amgrad;

// Every built-in model works in constant expressions: a whole 4-bit table at compile time.
static_assert(product_array<u4>(drum{3})[13 * 16 + 6] == 84);
static_assert(product_array<u4>(mitchell{})[3 * 16 + 3] == 8);
static_assert(product_array<u4>(etm{2})[7 * 16 + 6] == 31);
static_assert(product_array<s4>(bam{1, 3})[s4::code(-7) * 16 + s4::code(7)] == -bam{1, 3}(u4{}, 7, 7));
static_assert(is_builtin_model("drum") && !is_builtin_model("broken_array"));

TEST_CASE("the built-in list: distinct names, and the tests' model list is the same list") {
  std::vector<std::string_view> names;
  for_each_type(builtin_models{}, [&](auto t) { names.push_back(decltype(t)::type::name); });
  std::vector<std::string_view> tested;
  hana::for_each(test::all_models,
                 [&](const auto& model) { tested.push_back(std::decay_t<decltype(model)>::name); });
  CHECK(tested == names);
  std::sort(names.begin(), names.end());
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
}

TEST_CASE("model specs: parsed, constructed from the list, and refused with a clear message") {
  CHECK(parse_model_spec("drum:3").name == "drum");
  CHECK(parse_model_spec("bam:8,2").parameters == std::vector<int>{8, 2});
  CHECK(parse_model_spec("exact").parameters.empty());
  CHECK_THROWS_WITH_AS(parse_model_spec("drum:3x"), doctest::Contains("not a decimal integer"),
                       error);
  CHECK_THROWS_WITH_AS(parse_model_spec("drum:"), doctest::Contains("not a decimal integer"),
                       error);
  CHECK_THROWS_WITH_AS(parse_model_spec(":3"), doctest::Contains("no model name"), error);
  CHECK(make_product_table(parse_model_spec("bam:1,3"), s4::format) ==
        make_product_table<s4>(bam{1, 3}));
  CHECK(make_product_table(parse_model_spec("perforated:1,2"), u6::format) ==
        make_product_table<u6>(perforated{1, 2}));
  CHECK_THROWS_WITH_AS(make_product_table(parse_model_spec("drum:3,4"), u8::format),
                       doctest::Contains("drum takes 1 parameter(s) (drum:k), got 2"), error);
  CHECK_THROWS_WITH_AS(make_product_table(parse_model_spec("broken_array:2"), u8::format),
                       doctest::Contains("unknown model 'broken_array'"), error);
  CHECK_THROWS_WITH_AS(make_product_table(parse_model_spec("etm:3"), s8::format),
                       doctest::Contains("no signed definition"), error);
  CHECK_THROWS_AS(make_product_table(parse_model_spec("drum:99"), u8::format), error);
  CHECK(builtin_model_usage().find("perforated:i,n") != std::string::npos);
}

// The README's model table is checked against the list: one row per built-in model, spelled
// `name{params}` with the list's parameter names (`name` alone without parameters), in the list's order, "unsigned only" exactly
// where the model has no signed definition.
TEST_CASE("the README's model table agrees with the built-in list") {
  std::ifstream readme(AMGRAD_README);
  REQUIRE(readme.good());
  std::vector<std::string> rows;
  for (std::string line; std::getline(readme, line);)
    if (line.rfind("| `", 0) == 0 && line.find("` |") != std::string::npos) rows.push_back(line);
  std::size_t row = 0;
  for_each_type(builtin_models{}, [&](auto t) {
    using Model = typename decltype(t)::type;
    std::string spelled = concat("| `", Model::name);
    if (Model::parameters.size() != 0) {
      spelled += "{";
      for (std::size_t i = 0; i < Model::parameters.size(); ++i)
        spelled += concat(i ? ", " : "", Model::parameters[i]);
      spelled += "}";
    }
    spelled += "` |";
    const auto it = std::find_if(rows.begin(), rows.end(),
                                 [&](const std::string& r) { return r.rfind(spelled, 0) == 0; });
    CAPTURE(spelled);
    REQUIRE(it != rows.end());
    CHECK(static_cast<std::size_t>(it - rows.begin()) >= row);  // the list's order
    row = static_cast<std::size_t>(it - rows.begin());
    CHECK((it->find("unsigned only") == std::string::npos) == Model::supports_signed);
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
