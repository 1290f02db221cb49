// Must NOT compile: the operand argument is not an operand policy.
#include "amgrad/appmult.hpp"
#include "amgrad/gradient/ste.hpp"
#include "amgrad/multiplier/exact.hpp"

int main() {
  const amgrad::appmult<amgrad::exact, int, amgrad::ste> engine;
  return static_cast<int>(engine.lut().size());
}
