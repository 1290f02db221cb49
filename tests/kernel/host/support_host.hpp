#pragma once
// Helpers shared by the host kernel tests: every operand width 2..8 in both signednesses, the
// models to run, and comparison against the reference kernels.
#include <boost/hana.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "amgrad/kernel/host/backward.hpp"
#include "amgrad/kernel/host/forward.hpp"
#include "support.hpp"
#if __has_include("support_models.hpp")
#include "support_models.hpp"
#define AMGRAD_TEST_HAVE_ALL_MODELS 1
#else
#define AMGRAD_TEST_HAVE_ALL_MODELS 0
#endif

namespace amgrad::test {

inline constexpr auto widths_2_to_8 = hana::tuple_t<
    unsigned_operand<2>, unsigned_operand<3>, unsigned_operand<4>, unsigned_operand<5>,
    unsigned_operand<6>, unsigned_operand<7>, unsigned_operand<8>, signed_operand<2>,
    signed_operand<3>, signed_operand<4>, signed_operand<5>, signed_operand<6>,
    signed_operand<7>, signed_operand<8>>;

// The models the kernel tests cover: all built-in models when they are available.
inline auto kernel_test_models() {
#if AMGRAD_TEST_HAVE_ALL_MODELS
  return all_models;
#else
  return hana::make_tuple(exact{}, truncated{3});
#endif
}

// A random table of the given format with entries uniform in [lo, hi].
inline product_table random_table(operand_format f, std::int64_t lo, std::int64_t hi) {
  std::uniform_int_distribution<std::int64_t> dist(lo, hi);
  product_table t(f);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<std::int32_t>(dist(rng()));
  return t;
}

inline std::vector<code_t> random_codes(operand_format f, std::size_t n) {
  std::uniform_int_distribution<int> dist(0, f.size() - 1);
  std::vector<code_t> out(n);
  for (auto& c : out) c = static_cast<code_t>(dist(rng()));
  return out;
}

}  // namespace amgrad::test
