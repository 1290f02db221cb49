#pragma once
// A 2^B x 2^B table indexed by operand codes, row a, column b: the truth table of a multiplier,
// or one of its gradient estimates.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/operand.hpp"

namespace amgrad {

template <class T>
class table {
 public:
  using value_type = T;

  table() = default;
  explicit table(operand_format format, T fill = T{}) : format_(format) {
    format_.validate("amgrad::table");
    values_.assign(static_cast<std::size_t>(format_.size()) * format_.size(), fill);
  }
  table(operand_format format, std::vector<T> values) : format_(format), values_(std::move(values)) {
    format_.validate("amgrad::table");
    const auto expected = static_cast<std::size_t>(format_.size()) * format_.size();
    amgrad::require(values_.size() == expected, "amgrad::table", "a ", to_string(format_),
                    " table needs ", expected, " entries, got ", values_.size());
  }

  operand_format format() const { return format_; }
  int side() const { return format_.size(); }
  std::size_t size() const { return values_.size(); }
  bool empty() const { return values_.empty(); }

  // By code (table index).
  T& operator()(int a_code, int b_code) { return values_[index(a_code, b_code)]; }
  const T& operator()(int a_code, int b_code) const { return values_[index(a_code, b_code)]; }
  // By operand value.
  const T& at_value(int a, int b) const { return (*this)(format_.code(a), format_.code(b)); }

  const T* data() const { return values_.data(); }
  T* data() { return values_.data(); }
  const T* row(int a_code) const { return values_.data() + index(a_code, 0); }
  const std::vector<T>& values() const { return values_; }

  friend bool operator==(const table& x, const table& y) {
    return x.format_ == y.format_ && x.values_ == y.values_;
  }
  friend bool operator!=(const table& x, const table& y) { return !(x == y); }

 private:
  std::size_t index(int a_code, int b_code) const {
    return static_cast<std::size_t>(a_code) * static_cast<std::size_t>(format_.size()) +
           static_cast<std::size_t>(b_code);
  }

  operand_format format_{};
  std::vector<T> values_;
};

using product_table = table<std::int32_t>;

// The largest |AM(a, b)|: with the depth K it bounds every output of a forward GEMM.
inline std::int64_t max_abs_product(const product_table& lut) {
  std::int64_t m = 0;
  for (auto v : lut.values()) m = std::max<std::int64_t>(m, v < 0 ? -std::int64_t{v} : v);
  return m;
}

namespace detail {
// An int32 accumulator is exact only while K * max|AM| fits; beyond, it would wrap silently.
inline void require_int32_depth(const char* where, std::size_t depth, std::int64_t max_abs) {
  require(static_cast<std::int64_t>(depth) * max_abs <= std::numeric_limits<std::int32_t>::max(),
          where, "K = ", depth, " can overflow an int32 accumulator (max |AM| = ", max_abs,
          "); use an int64_t output");
}
}  // namespace detail
using gradient_table = table<float>;

}  // namespace amgrad
