// Prints α (Eq. 4) of the quantizer estimators on a 2-bit signed quantizer (codes -2..1) from
// the library's quadrature, next to the closed form for htge; with a folder argument, writes
// curves.dat (v, Q̂' and Q̂ of ste, pwl, htge<2>, htge<5.5>, mad; ede at 3 schedule points) and
// remap.dat (v, M(v) of htge<2> and htge<5.5>) for the plots in docs/quantizer-estimators.md.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "amgrad/quant/alignment.hpp"
#include "amgrad/quant/estimators.hpp"

using namespace amgrad::quant;

template <class E>
void row(const char* label, double closed) {
  const auto a = alpha<E>(-2, 1);
  if (std::isnan(closed))
    std::printf("| %s | %.10f | %.1e | - |\n", label, a.value, a.error);
  else
    std::printf("| %s | %.10f | %.1e | %.10f |\n", label, a.value, a.error, closed);
}

int main(int argc, char** argv) {
  const auto htge_alpha = [](double t) { return t * t / (t + std::sinh(t)); };
  std::printf("| estimator | α (quadrature) | error estimate | α closed form t²/(t+sinh t) |\n");
  std::printf("|---|---|---|---|\n");
  row<ste>("ste", 1.0);
  row<pwl>("pwl", 1.0);
  row<mad>("mad", 1.0);
  row<htge<0.5>>("htge t=0.5", htge_alpha(0.5));
  row<htge<1.0>>("htge t=1", htge_alpha(1.0));
  row<htge<2.0>>("htge t=2", htge_alpha(2.0));
  row<htge<4.0>>("htge t=4", htge_alpha(4.0));
  row<htge<5.5>>("htge t=5.5", htge_alpha(5.5));
  row<htge<8.0>>("htge t=8", htge_alpha(8.0));
  row<htge<10.0>>("htge t=10", htge_alpha(10.0));
  if (argc < 2) return 0;
  const std::string dir = argv[1];
  std::ofstream c(dir + "/curves.dat"), m(dir + "/remap.dat");
  const double lo = -2, hi = 1;
  ede e0{0.1, 10, 0.0}, e5{0.1, 10, 0.5}, e1{0.1, 10, 1.0};
  for (double v = -4.0; v <= 3.0 + 1e-9; v += 0.005) {
    c << v << ' ' << ste::derivative(v, lo, hi) << ' ' << pwl::derivative(v, lo, hi) << ' '
      << htge<2.0>::derivative(v, lo, hi) << ' ' << htge<5.5>::derivative(v, lo, hi) << ' '
      << mad::derivative_at(v, lo, hi, 0.0) << ' ' << ste::surrogate(v, lo, hi) << ' '
      << pwl::surrogate(v, lo, hi) << ' ' << htge<2.0>::surrogate(v, lo, hi) << ' '
      << htge<5.5>::surrogate(v, lo, hi) << ' ' << mad::surrogate_at(v, lo, hi, 0.0) << ' '
      << e0.derivative(v) << ' ' << e5.derivative(v) << ' ' << e1.derivative(v) << ' '
      << e0.surrogate(v) << ' ' << e5.surrogate(v) << ' ' << e1.surrogate(v) << '\n';
  }
  const double a2 = alpha<htge<2.0>>(lo, hi).value, a55 = alpha<htge<5.5>>(lo, hi).value;
  for (double v = -2.5; v <= 1.5 + 1e-9; v += 0.005)
    m << v << ' ' << remap_code<htge<2.0>>(v, lo, hi, 0, a2) << ' '
      << remap_code<htge<5.5>>(v, lo, hi, 0, a55) << '\n';
  return 0;
}
