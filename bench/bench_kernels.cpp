// The benchmark suite of the host kernels. Names: <pass>/<operand>/<M>x<N>x<K>/threads:<T>, with
// pass one of fwd, bwd_dA/<scheme>, bwd_dB/<scheme>, and the baselines sgemm (OpenBLAS),
// naive (the i-j-k dot-order LUT kernel peers ship) and portable (our non-VBMI row table).
// Operands are uniform codes; the "-real" passes use ReLU-like activations (about 50% zeros)
// and Gaussian weights. items_per_second counts lookups (forward) or MACs (backward, sgemm).
//
// Timing: the names are kept exactly as issue 3 asks, so no /real_time suffix: Google Benchmark
// divides items by the main thread's CPU time, which the main thread spends working in every
// parallel region here. bench/ratios.py computes its ratios from the wall-clock real_time.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "amgrad/amgrad.hpp"
#include "amgrad/gradient/lut2d_lowrank.hpp"
#include "amgrad/kernel/host/backward.hpp"
#include "amgrad/kernel/host/backward_lowrank.hpp"
#include "amgrad/kernel/host/blas.hpp"
#include "amgrad/kernel/host/forward.hpp"

using namespace amgrad;
namespace host = amgrad::kernel::host;

namespace {

struct shape {
  std::size_t m, n, k;
  std::string name() const {
    return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
  }
  double macs() const { return double(m) * double(n) * double(k); }
};

// Square; LeNet conv2 as im2col (batch 64: M = 64*100, K = 6*5*5, N = 16); VGG8 conv4 of the
// retraining grid (batch 64 at 14x14: M = 64*196, K = 16*3*3, N = 16); ResNet-18 3x3 convs
// at batch 1 (64ch@56^2: M = 3136, K = 576, N = 64; 256ch@14^2: M = 196, K = 2304, N = 256);
// ViT-B MLP fc1 at batch 8 (M = 8*197 tokens, K = 768, N = 3072).
const std::vector<shape> shapes = {{256, 256, 256},   {512, 512, 512},   {1024, 1024, 1024},
                                   {2048, 2048, 2048}, {6400, 16, 150},  {3136, 64, 576},
                                   {196, 256, 2304},   {1576, 3072, 768}, {12544, 16, 144}};

enum class distribution { uniform, realistic };

std::mt19937_64& rng() {
  static std::mt19937_64 engine{20261123};
  return engine;
}

// Activations: ReLU-like (half zeros, then |N(0,1)| over a quarter of the range per sigma).
std::vector<code_t> activations(int bits, std::size_t n, distribution d) {
  const int top = (1 << bits) - 1;
  std::vector<code_t> out(n);
  std::uniform_int_distribution<int> uni(0, top);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::bernoulli_distribution zero(0.5);
  for (auto& c : out) {
    if (d == distribution::uniform) c = static_cast<code_t>(uni(rng()));
    else c = zero(rng()) ? 0 : static_cast<code_t>(std::min<double>(top, std::round(std::abs(gauss(rng())) * top / 4)));
  }
  return out;
}

// Weights: Gaussian around the mid code (zero point), three sigmas to the edge.
std::vector<code_t> weights(int bits, std::size_t n, distribution d) {
  if (d == distribution::uniform) return activations(bits, n, d);
  const int top = (1 << bits) - 1, mid = 1 << (bits - 1);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::vector<code_t> out(n);
  for (auto& c : out)
    c = static_cast<code_t>(std::clamp<double>(std::round(mid + gauss(rng()) * mid / 3), 0, top));
  return out;
}

std::vector<float> floats(std::size_t n) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> out(n);
  for (auto& x : out) x = dist(rng());
  return out;
}

template <class Operand>
const product_table& lut() {
  static const product_table t = make_product_table<Operand>(truncated{Operand::bits / 2});
  return t;
}

struct operands {
  std::vector<code_t> a, b;
  operands(int bits, const shape& s, distribution d)
      : a(activations(bits, s.m * s.k, d)), b(weights(bits, s.k * s.n, d)) {}
  matrix_view<const code_t> av(const shape& s) const { return row_major(a.data(), s.m, s.k); }
  matrix_view<const code_t> bv(const shape& s) const { return row_major(b.data(), s.k, s.n); }
};

void finish(benchmark::State& state, const shape& s) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(s.macs()));
}

template <class Operand>
void bench_forward(benchmark::State& state, shape s, int threads, distribution d) {
  const operands x(Operand::bits, s, d);
  std::vector<std::int32_t> y(s.m * s.n);
  const host::forward_kernel kernel(lut<Operand>(), threads);
  state.SetLabel(host::to_string(kernel.path(s.m, s.n)));
  for (auto _ : state) {
    kernel(x.av(s), x.bv(s), row_major(y.data(), s.m, s.n));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  finish(state, s);
}

// One forward path forced: the portable row table (the non-VBMI baseline), or one of the two
// VBMI mappings (to show where the transposed one, sweeping A's rows, pays).
template <class Operand>
void bench_path(benchmark::State& state, shape s, host::forward_path path, int threads) {
  const operands x(Operand::bits, s, distribution::uniform);
  std::vector<std::int32_t> y(s.m * s.n);
  const host::forward_kernel kernel(lut<Operand>(), threads);
  for (auto _ : state) {
    kernel.run(path, x.av(s), x.bv(s), row_major(y.data(), s.m, s.n));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  finish(state, s);
}

// What peers ship: for each output, a dot product of table lookups LUT[A[i][k]][B[k][j]], in
// i-j-k order. B is stored transposed (N x K) as im2col weights usually are, so both operands
// are read contiguously: the fair best case of this order, not a strawman.
template <class Operand>
void bench_naive(benchmark::State& state, shape s) {
  const operands x(Operand::bits, s, distribution::uniform);
  std::vector<code_t> bt(s.n * s.k);
  for (std::size_t p = 0; p < s.k; ++p)
    for (std::size_t j = 0; j < s.n; ++j) bt[j * s.k + p] = x.b[p * s.n + j];
  std::vector<std::int32_t> y(s.m * s.n);
  const auto& t = lut<Operand>();
  const std::int32_t* table = t.data();
  const std::size_t side = static_cast<std::size_t>(t.side());
  for (auto _ : state) {
    for (std::size_t i = 0; i < s.m; ++i)
      for (std::size_t j = 0; j < s.n; ++j) {
        const code_t* a = x.a.data() + i * s.k;
        const code_t* b = bt.data() + j * s.k;
        std::int32_t sum = 0;
        for (std::size_t p = 0; p < s.k; ++p) sum += table[a[p] * side + b[p]];
        y[i * s.n + j] = sum;
      }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  finish(state, s);
}

void bench_sgemm(benchmark::State& state, shape s, int threads) {
  const auto a = floats(s.m * s.k), b = floats(s.k * s.n);
  std::vector<float> c(s.m * s.n);
  host::blas::scoped_threads use(threads);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(s.m), int(s.n), int(s.k), 1.0f,
                a.data(), int(s.k), b.data(), int(s.n), 0.0f, c.data(), int(s.n));
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  finish(state, s);
}

// The timing loop of every backward kernel (anything with da/db): dA or dB of operands `x`.
template <class Kernel>
void time_backward(benchmark::State& state, const Kernel& kernel, const operands& x, shape s,
                   bool wrt_a) {
  const auto dy = floats(s.m * s.n);
  std::vector<float> out(wrt_a ? s.m * s.k : s.k * s.n);
  for (auto _ : state) {
    if (wrt_a)
      kernel.da(x.av(s), x.bv(s), row_major(dy.data(), s.m, s.n), row_major(out.data(), s.m, s.k));
    else
      kernel.db(x.av(s), x.bv(s), row_major(dy.data(), s.m, s.n), row_major(out.data(), s.k, s.n));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
}

template <class Operand, class Scheme>
void bench_backward(benchmark::State& state, shape s, int threads, distribution d, bool wrt_a) {
  const operands x(Operand::bits, s, d);
  const auto& t = lut<Operand>();
  auto run = [&](const auto& kernel) { time_backward(state, kernel, x, s, wrt_a); };
  if constexpr (Scheme::is_separable) {
    run(host::backward_separable_kernel(Scheme{}.factors(t), threads));
  } else {
    const host::backward_table_kernel kernel(Scheme{}.tables(t), threads);
    state.SetLabel(kernel.path() == host::backward_path::fixed_point_vbmi ? "int16 x16 VBMI"
                                                                          : "float table");
    run(kernel);
  }
  finish(state, s);
}

// The low-rank LUT-2D backward (R stacked GEMMs) at a fixed rank of the LUT-2D tables.
// Names: bwd_dA/lowrank_r<R>/<op>/<shape>/threads:<T> (and bwd_dB); compare with bwd_dA/ste and
// bwd_dA/lut2d of the same run.
template <class Operand>
void bench_backward_low_rank(benchmark::State& state, shape s, int threads, int rank, bool wrt_a) {
#if AMGRAD_HAS_LAPACKE
  const operands x(Operand::bits, s, distribution::uniform);
  const host::backward_low_rank_kernel kernel(low_rank_of(lut2d{}.tables(lut<Operand>()), rank),
                                              threads);
  time_backward(state, kernel, x, s, wrt_a);
  finish(state, s);
#else
  (void)s, (void)threads, (void)rank, (void)wrt_a;
  state.SkipWithError("built without LAPACKE");
#endif
}

// One training step of a layer: forward, dA and dB (LUT-1D), as an engine runs them back to
// back. `blas_pool` = true is the design we did not choose: OpenBLAS runs the GEMMs on its own
// pthread pool while the forward runs on OpenMP's; the two pools then spin against each other
// on two cores (see docs/benchmarks.md).
template <class Operand>
void bench_step(benchmark::State& state, shape s, int threads, bool blas_pool) {
  const operands x(Operand::bits, s, distribution::uniform);
  const auto dy = floats(s.m * s.n);
  std::vector<std::int32_t> y(s.m * s.n);
  std::vector<float> da(s.m * s.k), db(s.k * s.n), mapped(s.k * s.n), mapped_a(s.m * s.k);
  const auto& t = lut<Operand>();
  const host::forward_kernel forward(t, threads);
  const auto factors = lut1d{}.factors(t);
  const host::backward_separable_kernel backward(factors, threads);
  for (auto _ : state) {
    forward(x.av(s), x.bv(s), row_major(y.data(), s.m, s.n));
    if (blas_pool) {
      host::blas::scoped_threads pool(threads);
      for (std::size_t i = 0; i < s.k * s.n; ++i) mapped[i] = factors.da_of_b[x.b[i]];
      for (std::size_t i = 0; i < s.m * s.k; ++i) mapped_a[i] = factors.db_of_a[x.a[i]];
      host::blas::gemm(row_major<const float>(dy.data(), s.m, s.n),
                       row_major<const float>(mapped.data(), s.k, s.n).transposed(),
                       row_major(da.data(), s.m, s.k));
      host::blas::gemm(row_major<const float>(mapped_a.data(), s.m, s.k).transposed(),
                       row_major<const float>(dy.data(), s.m, s.n), row_major(db.data(), s.k, s.n));
    } else {
      backward.da(x.av(s), x.bv(s), row_major(dy.data(), s.m, s.n), row_major(da.data(), s.m, s.k));
      backward.db(x.av(s), x.bv(s), row_major(dy.data(), s.m, s.n), row_major(db.data(), s.k, s.n));
    }
    benchmark::DoNotOptimize(da.data());
    benchmark::DoNotOptimize(db.data());
    benchmark::ClobberMemory();
  }
  finish(state, s);
}

std::string tag(int bits) { return "u" + std::to_string(bits); }

template <class Operand>
void register_operand() {
  const std::string op = tag(Operand::bits);
  for (const auto& s : shapes)
    for (int threads : {1, 2})
      for (auto d : {distribution::uniform, distribution::realistic}) {
        // The realistic distribution on one thread only: the kernels are data-independent, so
        // this pair is a check of that, not a second sweep.
        if (d == distribution::realistic && threads != 1) continue;
        const std::string real = d == distribution::realistic ? "-real" : "";
        const std::string tail = "/" + op + "/" + s.name() + "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(("fwd" + real + tail).c_str(), bench_forward<Operand>, s,
                                     threads, d);
        auto both = [&](const char* scheme_name, auto scheme) {
          using Scheme = decltype(scheme);
          benchmark::RegisterBenchmark(("bwd_dA" + real + "/" + scheme_name + tail).c_str(),
                                       bench_backward<Operand, Scheme>, s, threads, d, true);
          benchmark::RegisterBenchmark(("bwd_dB" + real + "/" + scheme_name + tail).c_str(),
                                       bench_backward<Operand, Scheme>, s, threads, d, false);
        };
        both("ste", ste{});
        both("lut1d", lut1d{});
        both("lut2d", lut2d{});
      }
#if AMGRAD_HAS_AVX512VBMI
  for (const auto& s : {shapes[4], shapes[5], shape{4096, 32, 256}, shape{1024, 96, 512}})
    for (auto how : {host::forward_path::vbmi_columns, host::forward_path::vbmi_rows})
      benchmark::RegisterBenchmark(
          ((how == host::forward_path::vbmi_rows ? "fwd_map/rows/" : "fwd_map/columns/") + op +
           "/" + s.name() + "/threads:1").c_str(),
          bench_path<Operand>, s, how, 1);
#endif
  for (const auto& s : {shapes[2], shapes[4], shapes[8]})  // 1024^3, LeNet conv2, VGG8 conv4
    for (int rank : {1, 2, 4, 8, 16})
      for (bool wrt_a : {true, false})
        benchmark::RegisterBenchmark(((wrt_a ? "bwd_dA/lowrank_r" : "bwd_dB/lowrank_r") +
                                      std::to_string(rank) + "/" + op + "/" + s.name() +
                                      "/threads:1").c_str(),
                                     bench_backward_low_rank<Operand>, s, 1, rank, wrt_a);
  for (const auto& s : {shapes[2], shapes[7]})
    for (int threads : {1, 2})
      for (bool pool : {false, true})
        benchmark::RegisterBenchmark(((pool ? "step_blaspool/" : "step/") + op + "/" + s.name() +
                                      "/threads:" + std::to_string(threads)).c_str(),
                                     bench_step<Operand>, s, threads, pool);
  for (const auto& s : shapes) {
    if (s.m * s.n * s.k > std::size_t{1} << 30) continue;  // seconds per call: not worth it
    benchmark::RegisterBenchmark(("naive/" + op + "/" + s.name() + "/threads:1").c_str(),
                                 bench_naive<Operand>, s);
    benchmark::RegisterBenchmark(("portable/" + op + "/" + s.name() + "/threads:1").c_str(),
                                 bench_path<Operand>, s, host::forward_path::portable_u16, 1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (const auto& s : shapes)
    for (int threads : {1, 2})
      benchmark::RegisterBenchmark(("sgemm/" + s.name() + "/threads:" + std::to_string(threads)).c_str(),
                                   bench_sgemm, s, threads);
  // Copies of the 2-thread headline runs timed by the CPU time of all threads (names end in
  // /process_time): on a shared machine, where wall-clock time says little about 2 threads,
  // process CPU time / 2 against the 1-thread time still bounds the parallel efficiency.
  const shape square{1024, 1024, 1024};
  benchmark::RegisterBenchmark("sgemm/1024x1024x1024/threads:2", bench_sgemm, square, 2)
      ->MeasureProcessCPUTime();
  benchmark::RegisterBenchmark("fwd/u8/1024x1024x1024/threads:2", bench_forward<u8>, square, 2,
                               distribution::uniform)
      ->MeasureProcessCPUTime();
  benchmark::RegisterBenchmark("fwd/u7/1024x1024x1024/threads:2", bench_forward<u7>, square, 2,
                               distribution::uniform)
      ->MeasureProcessCPUTime();
  register_operand<u8>();
  register_operand<u7>();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("amgrad.avx512vbmi", AMGRAD_HAS_AVX512VBMI ? "yes" : "no");
  benchmark::AddCustomContext("openblas", openblas_get_config());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
