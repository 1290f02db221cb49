#pragma once
// Models whose truth table is only known at run time: a table loaded from a file or measured
// from a netlist simulation, and any user callable.
#include <memory>
#include <utility>

#include "amgrad/multiplier/model.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad {

// A model backed by a run-time product table. The operand used with it must have the table's
// width and signedness; a mismatch throws (it would silently read the wrong entries).
class table_multiplier {
 public:
  static constexpr const char* name = "table";
  static constexpr bool supports_signed = true;

  explicit table_multiplier(product_table lut)
      : lut_(std::make_shared<const product_table>(std::move(lut))) {
    amgrad::require(!lut_->empty(), "amgrad::table_multiplier", "the table is empty");
  }

  template <class Operand>
  std::int32_t operator()(Operand, int a, int b) const {
    require_format(Operand::format);
    return lut_->at_value(a, b);
  }

  const product_table& lut() const { return *lut_; }
  operand_format format() const { return lut_->format(); }

  void require_format(operand_format wanted) const {
    amgrad::require(wanted == lut_->format(), "amgrad::table_multiplier", "the table is ",
                    to_string(lut_->format()), " but the operand is ", to_string(wanted));
  }

 private:
  std::shared_ptr<const product_table> lut_;  // shared: copies of the model are cheap
};

// Adapts any callable `f(int a, int b) -> integer` on operand values into a model.
// Signedness is declared by the user, since a callable cannot say it.
template <class F, bool SupportsSigned = true>
struct from_function {
  static constexpr const char* name = "function";
  static constexpr bool supports_signed = SupportsSigned;
  F function;

  template <class Operand>
  AMGRAD_HOST_DEVICE constexpr std::int32_t operator()(Operand, int a, int b) const {
    return static_cast<std::int32_t>(function(a, b));
  }
};

template <bool SupportsSigned = true, class F>
constexpr from_function<F, SupportsSigned> make_model(F f) {
  return {std::move(f)};
}

}  // namespace amgrad
