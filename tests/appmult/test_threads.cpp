// One appmult, and one ops engine over it, used from several threads at once (DataParallel
// workers, DDP ranks in threads): every call's result equals the same call made alone. The
// tsan preset runs this under ThreadSanitizer.
#include <thread>

#include "support.hpp"

using namespace amgrad;

namespace {

constexpr int thread_count = 4;

struct call {
  std::size_t m, n, k;
  std::vector<code_t> a, b;
  std::vector<float> dy;
  std::vector<std::int32_t> y;
  std::vector<float> da, db;
};

template <class Engine>
void run(const Engine& engine, call& c) {
  const auto av = row_major<const code_t>(c.a.data(), c.m, c.k);
  const auto bv = row_major<const code_t>(c.b.data(), c.k, c.n);
  const auto dyv = row_major<const float>(c.dy.data(), c.m, c.n);
  c.y.assign(c.m * c.n, -1);
  c.da.assign(c.m * c.k, -1.0f);
  c.db.assign(c.k * c.n, -1.0f);
  engine.forward(av, bv, row_major(c.y.data(), c.m, c.n));
  engine.backward_da(av, bv, dyv, row_major(c.da.data(), c.m, c.k));
  engine.backward_db(av, bv, dyv, row_major(c.db.data(), c.k, c.n));
}

template <class Operand>
std::vector<call> make_calls(int count) {
  std::vector<call> calls;
  for (int i = 0; i < count; ++i) {
    call c{test::random_size(20, 90), test::random_size(20, 90), test::random_size(20, 300), {},
           {}, {}, {}, {}, {}};
    c.a = test::random_codes<Operand>(c.m * c.k);
    c.b = test::random_codes<Operand>(c.k * c.n);
    c.dy = test::random_floats(c.m * c.n);
    calls.push_back(std::move(c));
  }
  return calls;
}

// Each thread runs its own calls `rounds` times on the shared engine; every result must equal
// the single-threaded one.
template <class Engine>
void check_concurrent(const Engine& engine) {
  using Operand = typename Engine::operand_type;
  constexpr int rounds = 3;
  auto alone = make_calls<Operand>(thread_count);
  for (auto& c : alone) run(engine, c);
  auto shared = alone;
  std::vector<int> mismatches(thread_count, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < thread_count; ++t)
    threads.emplace_back([&, t] {
      auto& c = shared[static_cast<std::size_t>(t)];
      const auto& want = alone[static_cast<std::size_t>(t)];
      for (int r = 0; r < rounds; ++r) {
        run(engine, c);
        mismatches[static_cast<std::size_t>(t)] +=
            (c.y != want.y) + (c.da != want.da) + (c.db != want.db);
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < thread_count; ++t) CHECK(mismatches[static_cast<std::size_t>(t)] == 0);
}

}  // namespace

TEST_CASE("one appmult from 4 threads: results identical to single-threaded calls") {
  SUBCASE("LUT-2D (table kernels), kernel threads 1") {
    check_concurrent(appmult<truncated, u8, lut2d>(truncated{6}, lut2d{}, host{1}));
  }
  SUBCASE("LUT-2D, kernel threads 2 inside each caller thread") {
    check_concurrent(appmult<drum, s7, lut2d>(drum{3}, lut2d{}, host{2}));
  }
  SUBCASE("LUT-1D (map + BLAS)") {
    check_concurrent(appmult<mitchell, u8, lut1d>(mitchell{}, lut1d{}, host{1}));
  }
  SUBCASE("STE (map + BLAS), kernel threads 2") {
    check_concurrent(appmult<exact, u6, ste>(exact{}, ste{}, host{2}));
  }
}

TEST_CASE("one ops engine from 4 threads: linear forward and backward identical to alone") {
  const appmult<truncated, u8, lut2d> engine(truncated{7}, lut2d{}, host{1});
  const ops::linear_shape shape{24, 40, 16};
  struct job {
    std::vector<float> x, w, bias, y;
    ops::linear_grads g;
  };
  std::vector<job> jobs(thread_count);
  for (auto& j : jobs) {
    j.x = test::random_floats(shape.batch * shape.in, 0.0f, 1.0f);
    j.w = test::random_floats(shape.out * shape.in);
    j.bias = test::random_floats(shape.out);
  }
  const auto xq = quant::from_range<u8>(0.0f, 1.0f);
  auto one = [&](job& j) {
    const auto wq = quant::from_channels<u8>(j.w, shape.out);
    j.y.assign(shape.batch * shape.out, 0.0f);
    const auto state = ops::linear_forward(engine, j.x, j.w, j.bias, shape, xq, wq, j.y);
    const std::vector<float> dy(j.y.begin(), j.y.end());
    j.g = ops::linear_backward(engine, state, dy, true);
  };
  auto alone = jobs;
  for (auto& j : alone) one(j);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < jobs.size(); ++t) threads.emplace_back([&, t] { one(jobs[t]); });
  for (auto& th : threads) th.join();
  for (std::size_t t = 0; t < jobs.size(); ++t) {
    CHECK(jobs[t].y == alone[t].y);
    CHECK(jobs[t].g.dx == alone[t].g.dx);
    CHECK(jobs[t].g.dw == alone[t].g.dw);
    CHECK(jobs[t].g.dbias == alone[t].g.dbias);
  }
}
