// Must NOT compile: ETM has no signed definition, and instantiating it with a signed operand
// must stop at the multiplier_model check (tests/concepts/CMakeLists.txt).
#include "amgrad/appmult.hpp"
#include "amgrad/gradient/ste.hpp"
#include "amgrad/multiplier/etm.hpp"

int main() {
  const amgrad::appmult<amgrad::etm, amgrad::s8, amgrad::ste> engine(amgrad::etm{3});
  return static_cast<int>(engine.lut().values().size());
}
