// Must NOT compile: a model whose call operator does not take (Operand, int, int).
#include "amgrad/appmult.hpp"
#include "amgrad/gradient/ste.hpp"

struct wrong_call {
  static constexpr const char* name = "wrong_call";
  static constexpr bool supports_signed = true;
  int operator()(int a, int b) const { return a * b; }
};

int main() {
  const amgrad::appmult<wrong_call, amgrad::u8, amgrad::ste> engine;
  return static_cast<int>(engine.lut().size());
}
