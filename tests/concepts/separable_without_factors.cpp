// Must NOT compile: a scheme that claims to be separable must give factors().
#include "amgrad/appmult.hpp"
#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/multiplier/exact.hpp"

struct claims_separable {
  static constexpr const char* name = "claims_separable";
  static constexpr bool is_separable = true;
  amgrad::gradient_tables tables(const amgrad::product_table& lut) const {
    return amgrad::lut2d{}.tables(lut);
  }
};

int main() {
  const amgrad::appmult<amgrad::exact, amgrad::u8, claims_separable> engine;
  return static_cast<int>(engine.lut().size());
}
