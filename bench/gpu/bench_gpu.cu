// GPU benchmarks (Google Benchmark, manual time from CUDA events: each iteration times one
// launch on a stream, after warm-up launches; run with repetitions and read the medians).
// items_per_second is lookups (forward, LUT-2D backward) or multiply-adds (sgemm, STE/LUT-1D and
// low-rank backward) per second, always per M*N*K. bench/gpu/report.py turns the JSON into the table of docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "amgrad/gradient/lut1d.hpp"
#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/gradient/lut2d_lowrank.hpp"
#include "amgrad/gradient/ste.hpp"
#include "amgrad/appmult.hpp"
#include "amgrad/kernel/generic/kernels.hpp"
#include "amgrad/multiplier/exact.hpp"
#include "amgrad/multiplier/truncated.hpp"

using namespace amgrad;
namespace dev = amgrad::kernel::device;

namespace {

struct shape {
  std::size_t m, n, k;
  std::string name() const {
    return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
  }
};

// Uniform codes, or "realistic" ones: ReLU-like activations (half zeros) and Gaussian weights.
std::vector<code_t> random_codes(std::size_t n, int bits, bool realistic, bool activation,
                                 std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int size = 1 << bits;
  std::uniform_int_distribution<int> uniform(0, size - 1);
  std::normal_distribution<double> normal(size / 2.0, size / 8.0);
  std::exponential_distribution<double> tail(8.0 / size);
  std::bernoulli_distribution zero(0.5);
  std::vector<code_t> out(n);
  for (auto& c : out) {
    int v = uniform(rng);
    if (realistic)
      v = activation ? (zero(rng) ? 0 : static_cast<int>(tail(rng)))
                     : static_cast<int>(std::lround(normal(rng)));
    c = static_cast<code_t>(std::clamp(v, 0, size - 1));
  }
  return out;
}

std::vector<float> random_floats(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> out(n);
  for (auto& x : out) x = d(rng);
  return out;
}

// Times `launch(stream)` with CUDA events, one launch per benchmark iteration.
template <class Launch>
void time_launches(benchmark::State& state, double items_per_launch, Launch launch) {
  cudaStream_t stream = nullptr;
  AMGRAD_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cudaEvent_t start = nullptr, stop = nullptr;
  AMGRAD_CUDA_CHECK(cudaEventCreate(&start));
  AMGRAD_CUDA_CHECK(cudaEventCreate(&stop));
  for (int warm = 0; warm < 3; ++warm) launch(stream);
  AMGRAD_CUDA_CHECK(cudaStreamSynchronize(stream));
  for (auto _ : state) {
    AMGRAD_CUDA_CHECK(cudaEventRecord(start, stream));
    launch(stream);
    AMGRAD_CUDA_CHECK(cudaEventRecord(stop, stream));
    AMGRAD_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    AMGRAD_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(static_cast<double>(ms) / 1e3);
  }
  state.counters["items_per_launch"] = items_per_launch;
  state.SetItemsProcessed(static_cast<std::int64_t>(items_per_launch * static_cast<double>(state.iterations())));
  AMGRAD_CUDA_CHECK(cudaEventDestroy(start));
  AMGRAD_CUDA_CHECK(cudaEventDestroy(stop));
  AMGRAD_CUDA_CHECK(cudaStreamDestroy(stream));
}

// Inputs and prepared kernels are built once per key and reused by every run of a benchmark
// (Google Benchmark calls a benchmark function several times per repetition).
template <class T, class Make>
const T& cached(const std::string& key, Make make) {
  static std::map<std::string, std::unique_ptr<T>> cache;
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, std::make_unique<T>(make())).first;
  return *it->second;
}

const dev::buffer<code_t>& codes(std::size_t n, int bits, bool realistic, bool activation,
                                 std::uint64_t seed) {
  return cached<dev::buffer<code_t>>(
      std::to_string(n) + "/" + std::to_string(bits) + "/" + std::to_string(realistic) + "/" +
          std::to_string(activation) + "/" + std::to_string(seed),
      [&] { return dev::buffer<code_t>(random_codes(n, bits, realistic, activation, seed)); });
}

const dev::buffer<float>& floats(std::size_t n, std::uint64_t seed) {
  return cached<dev::buffer<float>>(std::to_string(n) + "/" + std::to_string(seed), [&] {
    return dev::buffer<float>(random_floats(n, seed));
  });
}

double lookups(const shape& s) { return double(s.m) * double(s.n) * double(s.k); }

template <class Operand>
void bench_forward(benchmark::State& state, shape s, bool realistic) {
  const auto& kernel = cached<dev::forward_kernel>(to_string(Operand::format), [] {
    return dev::forward_kernel(make_product_table<Operand>(exact{}));
  });
  const auto& a = codes(s.m * s.k, Operand::bits, realistic, true, 1);
  const auto& b = codes(s.k * s.n, Operand::bits, realistic, false, 2);
  dev::buffer<std::int32_t> y(s.m * s.n);
  state.counters["splits"] = kernel.splits_for(s.m, s.n, s.k);
  time_launches(state, lookups(s), [&](cudaStream_t stream) {
    kernel(row_major(a.data(), s.m, s.k), row_major(b.data(), s.k, s.n),
           row_major(y.data(), s.m, s.n), stream);
  });
}

template <class Operand>
void bench_generic_forward(benchmark::State& state, shape s) {
  const auto lut = make_product_table<Operand>(exact{});
  const kernel::generic::tables tables(lut, ste{}.tables(lut));
  const auto& a = codes(s.m * s.k, Operand::bits, false, true, 1);
  const auto& b = codes(s.k * s.n, Operand::bits, false, false, 2);
  dev::buffer<std::int32_t> y(s.m * s.n);
  time_launches(state, lookups(s), [&](cudaStream_t stream) {
    tables.forward(thrust::cuda::par_nosync.on(stream), row_major(a.data(), s.m, s.k),
                   row_major(b.data(), s.k, s.n), row_major(y.data(), s.m, s.n));
  });
}

void bench_sgemm(benchmark::State& state, shape s) {
  const auto& a = floats(s.m * s.k, 1);
  const auto& b = floats(s.k * s.n, 2);
  dev::buffer<float> c(s.m * s.n);
  cublasHandle_t handle = nullptr;
  AMGRAD_CUBLAS_CHECK(cublasCreate(&handle));
  AMGRAD_CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));
  const float one = 1.0f, zero = 0.0f;
  time_launches(state, lookups(s), [&](cudaStream_t stream) {
    AMGRAD_CUBLAS_CHECK(cublasSetStream(handle, stream));
    // Row-major C = A B as column-major C^T = B^T A^T.
    AMGRAD_CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, int(s.n), int(s.m), int(s.k),
                                    &one, b.data(), int(s.n), a.data(), int(s.k), &zero, c.data(),
                                    int(s.n)));
  });
  AMGRAD_CUBLAS_CHECK(cublasDestroy(handle));
}

// Times one backward pass on fixed random u8-like operands: pass(A, B, dY, out, stream), out
// being dA (for_a) or dB.
template <class Operand, class Pass>
void time_backward(benchmark::State& state, shape s, bool for_a, Pass pass) {
  const auto& a = codes(s.m * s.k, Operand::bits, false, true, 1);
  const auto& b = codes(s.k * s.n, Operand::bits, false, false, 2);
  const auto& dy = floats(s.m * s.n, 3);
  dev::buffer<float> out(for_a ? s.m * s.k : s.k * s.n);
  const auto out_view = for_a ? row_major(out.data(), s.m, s.k) : row_major(out.data(), s.k, s.n);
  time_launches(state, lookups(s), [&](cudaStream_t stream) {
    pass(row_major(a.data(), s.m, s.k), row_major(b.data(), s.k, s.n),
         row_major(dy.data(), s.m, s.n), out_view, stream);
  });
}

// One backward pass of an engine: dA (for_a) or dB.
template <class Operand, class Scheme>
void bench_backward(benchmark::State& state, shape s, Scheme scheme, bool for_a) {
  using engine_type = appmult<truncated, Operand, Scheme, device>;
  const auto& engine = cached<engine_type>(std::string(Scheme::name) + to_string(Operand::format),
                                           [&] { return engine_type(truncated{4}, scheme); });
  time_backward<Operand>(state, s, for_a, [&](auto a, auto b, auto dy, auto out, cudaStream_t st) {
    for_a ? engine.backward_da(a, b, dy, out, st) : engine.backward_db(a, b, dy, out, st);
  });
}

// Random rank-R factors: the low-rank kernel's time does not depend on their values, and the
// standalone GPU build (bench/gpu/run.sh) has no LAPACKE to factor a real table.
low_rank_gradients random_factors(operand_format f, int rank) {
  const auto table = [&](std::uint64_t seed) {
    low_rank_table t;
    t.rank = rank;
    t.u = random_floats(static_cast<std::size_t>(rank) * f.size(), seed);
    t.v = random_floats(static_cast<std::size_t>(rank) * f.size(), seed + 1);
    return t;
  };
  return {f, table(10), table(20)};
}

// The low-rank kernel itself (R maps + one sgemm + a combine), whatever the dispatch would choose;
// the counter model_picks_gemm says what the automatic dispatch's estimated cost model picks here
// (1: this kernel, 0: the table kernel), to compare with the measured lut2d line.
template <class Operand>
void bench_backward_low_rank(benchmark::State& state, shape s, int rank, bool for_a) {
  const auto& kernel = cached<dev::backward_low_rank_kernel>(
      "lowrank/" + std::to_string(rank) + "/" + to_string(Operand::format),
      [&] { return dev::backward_low_rank_kernel(random_factors(Operand::format, rank)); });
  const double mk = double(s.m) * double(s.k), kn = double(s.k) * double(s.n);
  state.counters["model_picks_gemm"] = detail::prefers_low_rank_device(
      rank, Operand::bits, double(s.m), double(s.n), double(s.k), for_a ? kn : mk, for_a ? mk : kn);
  time_backward<Operand>(state, s, for_a, [&](auto a, auto b, auto dy, auto out, cudaStream_t st) {
    for_a ? kernel.da(a, b, dy, out, st) : kernel.db(a, b, dy, out, st);
  });
}

template <class F>
void add(const std::string& name, F f) {
  benchmark::RegisterBenchmark(name.c_str(), f)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->Repetitions(5)
      ->ReportAggregatesOnly(true);
}

}  // namespace

int main(int argc, char** argv) {
  if (dev::device_count() == 0) {
    std::fprintf(stderr, "no CUDA device is present: nothing to benchmark\n");
    return 77;
  }
  const shape big{4096, 4096, 4096}, mid{1024, 1024, 1024};
  // Small outputs with a long K: the split-K case (a LeNet-like and a late ResNet-like layer).
  const shape narrow{6400, 16, 150}, late{196, 256, 2304};
  for (const shape& s : {big, mid, narrow, late}) {
    add("gpu_fwd/u8/" + s.name(), [s](benchmark::State& st) { bench_forward<u8>(st, s, false); });
    add("gpu_fwd/u7/" + s.name(), [s](benchmark::State& st) { bench_forward<u7>(st, s, false); });
  }
  add("gpu_fwd/u8_realistic/" + big.name(),
      [big](benchmark::State& st) { bench_forward<u8>(st, big, true); });
  add("gpu_fwd_generic/u8/" + mid.name(),
      [mid](benchmark::State& st) { bench_generic_forward<u8>(st, mid); });
  for (const shape& s : {big, mid})
    add("gpu_sgemm/" + s.name(), [s](benchmark::State& st) { bench_sgemm(st, s); });
  for (const shape& s : {big, mid, narrow}) {
    add("gpu_bwd_dA/ste/u8/" + s.name(),
        [s](benchmark::State& st) { bench_backward<u8>(st, s, ste{}, true); });
    add("gpu_bwd_dA/lut1d/u8/" + s.name(),
        [s](benchmark::State& st) { bench_backward<u8>(st, s, lut1d{}, true); });
    add("gpu_bwd_dA/lut2d/u8/" + s.name(),
        [s](benchmark::State& st) { bench_backward<u8>(st, s, lut2d{}, true); });
  }
  // Low-rank LUT-2D on the GEMM path (kernel/device/backward_lowrank.cuh), dA and dB at 1024^3
  // and LeNet's conv2 with batch 64 (narrow), ranks 1, 4, 16, beside STE (map + sgemm) and the
  // LUT-2D table kernel of the same pass in the same run (the dA baselines are above).
  for (const shape& s : {mid, narrow}) {
    add("gpu_bwd_dB/ste/u8/" + s.name(),
        [s](benchmark::State& st) { bench_backward<u8>(st, s, ste{}, false); });
    add("gpu_bwd_dB/lut2d/u8/" + s.name(),
        [s](benchmark::State& st) { bench_backward<u8>(st, s, lut2d{}, false); });
    for (const int rank : {1, 4, 16})
      for (const bool for_a : {true, false})
        add(std::string(for_a ? "gpu_bwd_dA" : "gpu_bwd_dB") + "/lowrank_r" +
                std::to_string(rank) + "/u8/" + s.name(),
            [s, rank, for_a](benchmark::State& st) {
              bench_backward_low_rank<u8>(st, s, rank, for_a);
            });
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
