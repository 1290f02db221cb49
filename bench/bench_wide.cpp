// amgrad_bench_wide: wide operands (12 and 16 bits) without tables, and the netlist importer.
//   forward      MAC/s of amgrad::wide::forward per model, and OpenBLAS sgemm on the same shape,
//                same run, 1 thread each (ratio = sgemm / wide: how much slower per MAC); the
//                separable (exact, DRUM), masked (truncated, BAM), Mitchell and scalar
//                (Kulkarni) paths, at 12 and 16 bits, unsigned and signed
//   lut1d        seconds for the exact column scans (2 * 2^(2B) model evaluations), all threads
//   lut2d        seconds for the coarse 256x256 LUT-2D estimate
//   netlist      read + exhaustive simulation of the shared designs (argument: the folder)
// Usage: amgrad_bench_wide [NETLIST_DIR] [--no16] [--forward-only]
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "amgrad/amgrad.hpp"
#include "amgrad/netlist/netlist.hpp"
#include "amgrad/wide/forward.hpp"
#include "amgrad/wide/lut1d.hpp"
#include "amgrad/wide/lut2d.hpp"

namespace w = amgrad::wide;
using clock_type = std::chrono::steady_clock;

namespace {

// The fastest of `repeat` runs after a warm-up (the machine is shared: the minimum is the
// least disturbed run).
template <class F>
double seconds_of(F&& f, int repeat = 1) {
  f();  // warm up
  double best = 0;
  for (int r = 0; r < repeat; ++r) {
    const auto start = clock_type::now();
    f();
    const double s = std::chrono::duration<double>(clock_type::now() - start).count();
    best = r == 0 ? s : std::min(best, s);
  }
  return best;
}

template <class Operand, class Model>
void bench_forward(const char* label, const Model& model, const std::string& variant, std::size_t m,
                   std::size_t k, std::size_t n) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> d(0, Operand::size - 1);
  std::vector<w::code_t> a(m * k), b(k * n);
  for (auto& x : a) x = static_cast<w::code_t>(d(rng));
  for (auto& x : b) x = static_cast<w::code_t>(d(rng));
  std::vector<std::int64_t> y(m * n);
  std::vector<float> fa(m * k, 0.5f), fb(k * n, 0.25f), fy(m * n);
  const double macs = double(m) * double(k) * double(n);
  const double t_wide = seconds_of([&] { w::forward<Operand>(model, a.data(), b.data(), y.data(), m, k, n, 1); }, 5);
  openblas_set_num_threads(1);
  const double t_sgemm = seconds_of([&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(m), int(n), int(k), 1.0f, fa.data(),
                int(k), fb.data(), int(n), 0.0f, fy.data(), int(n));
  }, 5);
  std::printf("forward %-5s %-14s %zux%zux%zu  %8.3f GMAC/s   sgemm %8.3f GMAC/s   sgemm/wide %6.1fx\n",
              label, (model.name + variant).c_str(), m, k, n, macs / t_wide * 1e-9, macs / t_sgemm * 1e-9, t_wide / t_sgemm);
}

template <class Operand, class Model>
void bench_gradients(const char* label, const Model& model) {
  const auto t0 = clock_type::now();
  const auto g = w::lut1d_scan<Operand>(model);
  const double t1d = std::chrono::duration<double>(clock_type::now() - t0).count();
  const auto t1 = clock_type::now();
  const auto c = w::lut2d_coarse<Operand>(model);
  const double t2d = std::chrono::duration<double>(clock_type::now() - t1).count();
  std::printf("lut1d   %-5s %-12s %.3f s (%.3g evaluations/s, %u threads)   coarse lut2d %.4f s   [g %g %g]\n",
              label, model.name, t1d, 2.0 * double(Operand::size) * double(Operand::size) / t1d,
              std::max(1u, std::thread::hardware_concurrency()), t2d, double(g.da_of_b.back()),
              double(c.da.back()));
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string dir;
  bool wide16 = true, gradients = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--no16") wide16 = false;
    else if (arg == "--forward-only") gradients = false;
    else dir = arg;
  }
  if (!dir.empty()) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const std::string p = entry.path().string();
      if (p.ends_with(".v") || p.ends_with(".blif")) {
        amgrad::product_table t;
        const double s = seconds_of([&] { t = amgrad::netlist::import_table(p); }, 20);
        std::printf("netlist %-70s read+simulate %.3f ms (%zu entries)\n",
                    entry.path().filename().string().c_str(), s * 1e3, t.size());
      }
    }
  }
  const auto forward_all = [](auto op, const char* label) {
    using O = decltype(op);
    constexpr std::size_t s = 256;
    const std::string b = std::to_string(O::bits), q = std::to_string(O::bits / 4);
    if constexpr (!O::is_signed) {
      bench_forward<O>(label, amgrad::exact{}, "", s, s, s);
      bench_forward<O>(label, amgrad::drum{6}, "(6)", s, s, s);
    }
    bench_forward<O>(label, amgrad::mitchell{}, "", s, s, s);
    bench_forward<O>(label, amgrad::truncated{O::bits}, "(" + b + ")", s, s, s);  // low half of the columns
    bench_forward<O>(label, amgrad::bam{O::bits / 4, O::bits}, "(" + q + "," + b + ")", s, s, s);
    if constexpr (!O::is_signed) bench_forward<O>(label, amgrad::kulkarni{}, "", s, s, s);  // scalar path
  };
  forward_all(w::u12{}, "u12");
  forward_all(w::s12{}, "s12");
  forward_all(w::u16{}, "u16");
  forward_all(w::s16{}, "s16");
  if (!gradients) return 0;
  bench_gradients<w::u12>("u12", amgrad::mitchell{});
  bench_gradients<w::u12>("u12", amgrad::drum{6});
  if (wide16) {
    bench_gradients<w::u16>("u16", amgrad::mitchell{});
    bench_gradients<w::u16>("u16", amgrad::drum{6});
  }
  return 0;
}
