#pragma once
// Straight-through estimator: the gradients of the accurate product, dAM/da = b, dAM/db = a.
#include "amgrad/concepts.hpp"
#include "amgrad/table/gradient_tables.hpp"

namespace amgrad {

struct ste {
  static constexpr const char* name = "ste";
  static constexpr bool is_separable = true;

  separable_gradients factors(const product_table& lut) const {
    const operand_format f = lut.format();
    separable_gradients out{f, std::vector<float>(f.size()), std::vector<float>(f.size())};
    for (int c = 0; c < f.size(); ++c) {
      out.da_of_b[static_cast<std::size_t>(c)] = static_cast<float>(f.value(c));
      out.db_of_a[static_cast<std::size_t>(c)] = static_cast<float>(f.value(c));
    }
    return out;
  }
  gradient_tables tables(const product_table& lut) const { return factors(lut).expand(); }
};

static_assert(separable_scheme<ste>);

}  // namespace amgrad
