#pragma once
// Threading of the host kernels: one runtime. The kernels split row (or tile) blocks with OpenMP
// when the translation unit is compiled with it, else with std::thread. OpenBLAS is never allowed
// to start its own pool inside those regions: each thread calls it single-threaded (see
// blas.hpp), so two pools never spin against each other on the same cores.
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <thread>
#include <vector>

#include "amgrad/config.hpp"

#if AMGRAD_HAS_OPENMP
#include <omp.h>
#endif

namespace amgrad::kernel::host {
inline namespace AMGRAD_HOST_ABI {

// The thread count a kernel runs with: `threads` if positive, else the runtime's standard
// default (OMP_NUM_THREADS through omp_get_max_threads, or the hardware concurrency).
inline int resolve_threads(int threads) {
  if (threads > 0) return threads;
#if AMGRAD_HAS_OPENMP
  return std::max(1, omp_get_max_threads());
#else
  if (const char* env = std::getenv("OMP_NUM_THREADS"); env != nullptr && std::atoi(env) > 0)
    return std::atoi(env);
  return std::max(1u, std::thread::hardware_concurrency());
#endif
}

}  // namespace AMGRAD_HOST_ABI
}  // namespace amgrad::kernel::host

namespace amgrad::detail {
inline namespace AMGRAD_HOST_ABI {

// Calls body(task, thread_index) for every task in [0, tasks), spread over `threads` threads.
// Tasks are independent; each thread gets a thread_index in [0, threads) for its scratch space.
template <class Body>
void parallel_for(std::size_t tasks, int threads, Body&& body) {
  const int used = static_cast<int>(std::min<std::size_t>(tasks, static_cast<std::size_t>(
                                                                     std::max(1, threads))));
  if (used <= 1) {
    for (std::size_t t = 0; t < tasks; ++t) body(t, 0);
    return;
  }
#if AMGRAD_HAS_OPENMP
#pragma omp parallel num_threads(used)
  {
    const int me = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
    for (std::ptrdiff_t t = 0; t < static_cast<std::ptrdiff_t>(tasks); ++t)
      body(static_cast<std::size_t>(t), me);
  }
#else
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(used - 1));
  auto run = [&](int me) {
    for (std::size_t t = static_cast<std::size_t>(me); t < tasks; t += static_cast<std::size_t>(used))
      body(t, me);
  };
  for (int me = 1; me < used; ++me) pool.emplace_back(run, me);
  run(0);
  for (auto& th : pool) th.join();
#endif
}

}  // namespace AMGRAD_HOST_ABI
}  // namespace amgrad::detail
