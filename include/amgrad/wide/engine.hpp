#pragma once
// One wide AppMult (B = 9..16 bits) with one gradient scheme: the forward GEMM of forward.hpp
// (the model per MAC, int64 accumulators: a 12-bit K = 400 dot product overflows int32) and the
// backward GEMMs of the scheme, on row-major codes A [M][K] (activations), B [K][N] (weights):
//     dA[i][k] = sum_j G[i][j] dAM/da(A[i][k], B[k][j])
//     dB[k][j] = sum_i G[i][j] dAM/db(A[i][k], B[k][j])
// Schemes (DESIGN.md 1):
//   ste           dAM/da = b, dAM/db = a: each operand mapped to its value, then a plain GEMM
//   lut1d         dAM/da = g_a(b), dAM/db = g_b(a) from lut1d_scan: the same map-then-GEMM
//   lut2d_coarse  the coarse LUT-2D of lut2d_coarse, interpolated bilinearly per (a, b) inside
//                 the GEMM (a gather GEMM: no 2^B x 2^B table is built)
// The scan or the coarse build runs once, in the constructor (setup_seconds). Kernels split
// their output rows over `threads` (0: hardware concurrency); each output element is written by
// one thread, so results do not depend on the thread count.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "amgrad/error.hpp"
#include "amgrad/gradient/lut1d.hpp"
#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/wide/forward.hpp"
#include "amgrad/wide/lut1d.hpp"
#include "amgrad/wide/lut2d.hpp"
#include "amgrad/wide/operand.hpp"

namespace amgrad::wide {

enum class scheme { ste, lut1d, lut2d_coarse };

inline const char* to_string(scheme s) {
  switch (s) {
    case scheme::ste: return "ste";
    case scheme::lut1d: return "lut1d";
    case scheme::lut2d_coarse: return "lut2d_coarse";
  }
  return "?";
}

inline scheme parse_scheme(std::string_view s) {
  if (s == "ste") return scheme::ste;
  if (s == "lut1d") return scheme::lut1d;
  if (s == "lut2d_coarse" || s == "lut2d") return scheme::lut2d_coarse;
  amgrad::fail("amgrad::wide::parse_scheme", "unknown scheme '", std::string(s),
               "': expected ste, lut1d or lut2d_coarse");
}

struct engine_options {
  wide::scheme scheme = scheme::ste;
  rate_rule rule = rate_rule::signed_range;  // lut1d
  int hws = auto_hws;                        // lut2d_coarse, in full-resolution codes
  int grid = 256;                            // lut2d_coarse samples per axis
  unsigned threads = 0;
};

template <class Operand, class Model>
class engine {
 public:
  using operand_type = Operand;
  using model_type = Model;

  explicit engine(Model model = Model{}, engine_options o = {})
      : model_(std::move(model)), options_(o) {
    const auto start = std::chrono::steady_clock::now();
    if (o.scheme == scheme::lut1d) {
      factors_ = lut1d_scan<Operand>(model_, o.rule, o.threads);
    } else if (o.scheme == scheme::lut2d_coarse) {
      coarse_ = lut2d_coarse<Operand>(model_, o.hws, o.grid, o.threads);
      axis_index_.resize(Operand::size);
      axis_weight_.resize(Operand::size);
      for (int c = 0; c < Operand::size; ++c) {
        const auto p = coarse_.axis(c);
        axis_index_[static_cast<std::size_t>(c)] = p.index;
        axis_weight_[static_cast<std::size_t>(c)] = static_cast<float>(p.weight);
      }
    }
    setup_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  const Model& model() const { return model_; }
  const engine_options& options() const { return options_; }
  double setup_seconds() const { return setup_seconds_; }  // the scan or the coarse build
  const lut1d_factors& factors() const { return factors_; }
  const coarse_gradients& coarse() const { return coarse_; }

  // The scheme's estimate at one code pair: what the backward GEMMs sum (the tests' reference).
  float da(code_t a, code_t b) const {
    switch (options_.scheme) {
      case scheme::ste: return static_cast<float>(Operand::value(b));
      case scheme::lut1d: return factors_.da_of_b[b];
      case scheme::lut2d_coarse: break;
    }
    return coarse_.da_at(a, b);
  }
  float db(code_t a, code_t b) const {
    switch (options_.scheme) {
      case scheme::ste: return static_cast<float>(Operand::value(a));
      case scheme::lut1d: return factors_.db_of_a[a];
      case scheme::lut2d_coarse: break;
    }
    return coarse_.db_at(a, b);
  }

  // Y [M][N] = sum_k AM(A[i][k], B[k][j]), bit-exact.
  void forward(const code_t* a, const code_t* b, std::int64_t* y, std::size_t m, std::size_t k,
               std::size_t n) const {
    wide::forward<Operand>(model_, a, b, y, m, k, n, options_.threads);
  }

  // dA [M][K] from G [M][N].
  void backward_da(const code_t* a, const code_t* b, const float* g, float* da, std::size_t m,
                   std::size_t k, std::size_t n) const {
    detail::require_codes<Operand>(a, m, k, "A", "amgrad::wide::engine::backward_da");
    detail::require_codes<Operand>(b, k, n, "B", "amgrad::wide::engine::backward_da");
    if (options_.scheme == scheme::lut2d_coarse) return gather_da(a, b, g, da, m, k, n);
    // dA = G . F(B)^T with F the elementwise estimate of the other operand.
    std::vector<float> fb(k * n);
    for (std::size_t i = 0; i < k * n; ++i) fb[i] = this->da(0, b[i]);
    detail::parallel_for(m, options_.threads, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) {
        const float* gi = g + i * n;
        for (std::size_t p = 0; p < k; ++p) {
          const float* fp = fb.data() + p * n;
          float s = 0;
          for (std::size_t j = 0; j < n; ++j) s += gi[j] * fp[j];
          da[i * k + p] = s;
        }
      }
    });
  }

  // dB [K][N] from G [M][N].
  void backward_db(const code_t* a, const code_t* b, const float* g, float* db, std::size_t m,
                   std::size_t k, std::size_t n) const {
    detail::require_codes<Operand>(a, m, k, "A", "amgrad::wide::engine::backward_db");
    detail::require_codes<Operand>(b, k, n, "B", "amgrad::wide::engine::backward_db");
    if (options_.scheme == scheme::lut2d_coarse) return gather_db(a, b, g, db, m, k, n);
    // dB = F(A)^T . G; threads own rows p of dB.
    std::vector<float> fa(m * k);
    for (std::size_t i = 0; i < m * k; ++i) fa[i] = this->db(a[i], 0);
    detail::parallel_for(k, options_.threads, [&](std::size_t lo, std::size_t hi) {
      std::fill(db + lo * n, db + hi * n, 0.0f);
      for (std::size_t i = 0; i < m; ++i) {
        const float* gi = g + i * n;
        for (std::size_t p = lo; p < hi; ++p) {
          const float f = fa[i * k + p];
          if (f == 0.0f) continue;
          float* out = db + p * n;
          for (std::size_t j = 0; j < n; ++j) out[j] += f * gi[j];
        }
      }
    });
  }

 private:
  // Bilinear interpolation of grid table t at the precomputed coordinates of codes a and b.
  float lerp2(const float* t, std::size_t a, std::size_t b) const {
    const auto gs = static_cast<std::size_t>(coarse_.grid);
    const float* r0 = t + static_cast<std::size_t>(axis_index_[a]) * gs;
    const float* r1 = r0 + gs;
    const auto j = static_cast<std::size_t>(axis_index_[b]);
    const float wb = axis_weight_[b];
    const float t0 = r0[j] + wb * (r0[j + 1] - r0[j]);
    const float t1 = r1[j] + wb * (r1[j + 1] - r1[j]);
    return t0 + axis_weight_[a] * (t1 - t0);
  }

  void gather_da(const code_t* a, const code_t* b, const float* g, float* da, std::size_t m,
                 std::size_t k, std::size_t n) const {
    const float* t = coarse_.da.data();
    detail::parallel_for(m, options_.threads, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) {
        const float* gi = g + i * n;
        for (std::size_t p = 0; p < k; ++p) {
          const code_t* bp = b + p * n;
          const std::size_t av = a[i * k + p];
          float s = 0;
          for (std::size_t j = 0; j < n; ++j) s += gi[j] * lerp2(t, av, bp[j]);
          da[i * k + p] = s;
        }
      }
    });
  }

  void gather_db(const code_t* a, const code_t* b, const float* g, float* db, std::size_t m,
                 std::size_t k, std::size_t n) const {
    const float* t = coarse_.db.data();
    detail::parallel_for(k, options_.threads, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t p = lo; p < hi; ++p) {
        float* out = db + p * n;
        std::fill(out, out + n, 0.0f);
        const code_t* bp = b + p * n;
        for (std::size_t i = 0; i < m; ++i) {
          const float* gi = g + i * n;
          const std::size_t av = a[i * k + p];
          for (std::size_t j = 0; j < n; ++j) out[j] += gi[j] * lerp2(t, av, bp[j]);
        }
      }
    });
  }

  Model model_;
  engine_options options_;
  double setup_seconds_ = 0;
  lut1d_factors factors_;
  coarse_gradients coarse_;
  std::vector<int> axis_index_;     // grid coordinate of every code (lut2d_coarse)
  std::vector<float> axis_weight_;
};

}  // namespace amgrad::wide
