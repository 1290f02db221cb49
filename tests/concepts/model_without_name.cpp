// Must NOT compile: a model without `name` and `supports_signed`.
#include "amgrad/appmult.hpp"
#include "amgrad/gradient/ste.hpp"

struct unnamed_model {
  template <class Operand>
  constexpr int operator()(Operand, int a, int b) const { return a * b; }
};

int main() {
  const amgrad::appmult<unnamed_model, amgrad::u8, amgrad::ste> engine;
  return static_cast<int>(engine.lut().size());
}
