// Must NOT compile: a gradient scheme without tables().
#include "amgrad/appmult.hpp"
#include "amgrad/multiplier/exact.hpp"

struct no_tables {
  static constexpr const char* name = "no_tables";
  static constexpr bool is_separable = false;
};

int main() {
  const amgrad::appmult<amgrad::exact, amgrad::u8, no_tables> engine;
  return static_cast<int>(engine.lut().size());
}
