// Must NOT compile with a host compiler: the CUDA backend needs nvcc.
#include "amgrad/appmult.hpp"
#include "amgrad/gradient/ste.hpp"
#include "amgrad/multiplier/exact.hpp"

int main() {
  const amgrad::appmult<amgrad::exact, amgrad::u8, amgrad::ste, amgrad::device> engine;
  return static_cast<int>(engine.lut().size());
}
