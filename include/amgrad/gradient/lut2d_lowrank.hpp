#pragma once
// Low-rank LUT-2D (our extension, DESIGN.md section 1): each LUT-2D gradient table is replaced by
// its truncated SVD,
//
//     G_a(a, b) ~ sum_r u_r(a) v_r(b),     G_b(a, b) ~ sum_r p_r(a) q_r(b),
//
// so that the backward pass is R float GEMMs after elementwise maps:
//     dA = sum_r u_r(A) (.) (dY . v_r(B)^T),   dB = sum_r q_r(B) (.) (p_r(A)^T . dY).
// The rank is fixed at compile time (lut2d_lowrank<R>) or chosen at run time
// (lut2d_lowrank<dynamic_rank>) as the smallest rank whose relative Frobenius error
// ||G - G_r|| / ||G|| is at most `tolerance`. The SVD is LAPACK's (dgesdd through LAPACKE, in
// double); it needs liblapacke-dev, which the amgrad::host target links where it is found
// (AMGRAD_HAS_LAPACKE). Which kernel runs the backward (the table kernel over the expanded
// rank-R tables, or the R GEMMs) is dispatch.hpp's choice by estimated cost, overridable by
// `path`.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "amgrad/concepts.hpp"
#include "amgrad/error.hpp"
#include "amgrad/gradient/lut2d.hpp"
#include "amgrad/table/gradient_tables.hpp"
#include "amgrad/table/table.hpp"

#ifndef AMGRAD_HAS_LAPACKE
#define AMGRAD_HAS_LAPACKE 0
#endif
#if AMGRAD_HAS_LAPACKE
#include <lapacke.h>
#endif

namespace amgrad {

// lut2d_lowrank<dynamic_rank>: the rank comes from the tolerance, per table.
inline constexpr int dynamic_rank = 0;

// Which kernel runs a low-rank scheme's backward (host and device backends).
enum class low_rank_path {
  automatic,  // by estimated cost (dispatch.hpp: prefers_low_rank, prefers_low_rank_device)
  table,      // the LUT-2D table kernel over the expanded rank-R tables
  gemm,       // R float GEMMs after elementwise maps
};

// One gradient table in rank-`rank` form: G(a, b) ~ sum_r u[r][a] v[r][b] (the singular value
// is folded into u), and all singular values of G, largest first.
struct low_rank_table {
  int rank = 0;
  std::vector<float> u;  // rank x n, indexed [r * n + code of the row operand a]
  std::vector<float> v;  // rank x n, indexed [r * n + code of the column operand b]
  std::vector<double> singular_values;

  // ||G - G_rank||_F / ||G||_F from the singular values (0 for a zero table).
  double relative_error(int r) const {
    double tail = 0, total = 0;
    for (std::size_t i = 0; i < singular_values.size(); ++i) {
      const double s2 = singular_values[i] * singular_values[i];
      total += s2;
      if (static_cast<int>(i) >= r) tail += s2;
    }
    return total > 0 ? std::sqrt(tail / total) : 0.0;
  }
  double relative_error() const { return relative_error(rank); }

  gradient_table expand(operand_format f) const {
    const int n = f.size();
    gradient_table out(f);
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b) {
        double sum = 0;
        for (int r = 0; r < rank; ++r)
          sum += static_cast<double>(u[static_cast<std::size_t>(r * n + a)]) *
                 v[static_cast<std::size_t>(r * n + b)];
        out(a, b) = static_cast<float>(sum);
      }
    return out;
  }
};

// Both gradients of a scheme in low-rank form; both indexed (a, b) like gradient_tables.
struct low_rank_gradients {
  operand_format format{};
  low_rank_table da;
  low_rank_table db;

  gradient_tables expand() const { return {da.expand(format), db.expand(format)}; }
};

namespace detail {

// The smallest rank whose relative Frobenius error is at most `tolerance` (at least 1).
inline int rank_for_tolerance(const low_rank_table& t, double tolerance) {
  const int n = static_cast<int>(t.singular_values.size());
  for (int r = 1; r < n; ++r)
    if (t.relative_error(r) <= tolerance) return r;
  return n;
}

// Truncated SVD of one table: `rank` > 0 fixes the rank (capped at n), else the tolerance picks.
inline low_rank_table factor_table(const gradient_table& g, int rank, double tolerance) {
  constexpr const char* where = "amgrad::low_rank_of";
  const int n = g.side();
  low_rank_table out;
#if AMGRAD_HAS_LAPACKE
  std::vector<double> a(g.values().begin(), g.values().end()), s(static_cast<std::size_t>(n)),
      uu(static_cast<std::size_t>(n) * n), vt(static_cast<std::size_t>(n) * n);
  for (double x : a) require(std::isfinite(x), where, "the gradient table holds a non-finite value");
  const lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', n, n, a.data(), n, s.data(),
                                         uu.data(), n, vt.data(), n);
  require(info == 0, where, "LAPACKE_dgesdd failed on a ", n, "x", n, " table (info ", info, ")");
  out.singular_values = s;
  out.rank = rank > 0 ? std::min(rank, n) : rank_for_tolerance(out, tolerance);
  out.u.resize(static_cast<std::size_t>(out.rank) * n);
  out.v.resize(static_cast<std::size_t>(out.rank) * n);
  for (int r = 0; r < out.rank; ++r)
    for (int x = 0; x < n; ++x) {
      out.u[static_cast<std::size_t>(r * n + x)] =
          static_cast<float>(s[static_cast<std::size_t>(r)] * uu[static_cast<std::size_t>(x * n + r)]);
      out.v[static_cast<std::size_t>(r * n + x)] = static_cast<float>(vt[static_cast<std::size_t>(r * n + x)]);
    }
#else
  (void)g, (void)rank, (void)tolerance, (void)n;
  fail(where, "amgrad was built without LAPACKE: the low-rank factorisation needs it (on Debian: "
              "apt-get install liblapacke-dev, then link amgrad::host)");
#endif
  return out;
}

}  // namespace detail

// The truncated SVD of both tables: `rank` > 0 fixes the rank, `rank` == dynamic_rank picks the
// smallest one within `tolerance` (relative Frobenius error) for each table separately.
inline low_rank_gradients low_rank_of(const gradient_tables& g, int rank, double tolerance = 0.01) {
  constexpr const char* where = "amgrad::low_rank_of";
  require(rank >= 0, where, "the rank must be >= 0 (0: from the tolerance), got ", rank);
  require(rank > 0 || (std::isfinite(tolerance) && tolerance >= 0), where,
          "the tolerance must be finite and >= 0, got ", tolerance);
  require(g.da.format() == g.db.format(), where, "dAM/da and dAM/db have different formats");
  return {g.da.format(), detail::factor_table(g.da, rank, tolerance),
          detail::factor_table(g.db, rank, tolerance)};
}

template <int R = dynamic_rank>
struct lut2d_lowrank {
  static_assert(R >= 0, "amgrad::lut2d_lowrank<R>: R is a rank (> 0) or dynamic_rank (0)");
  static constexpr const char* name = "lut2d_lowrank";
  static constexpr bool is_separable = false;
  static constexpr bool is_low_rank = true;
  static constexpr int static_rank = R;

  int hws = auto_hws;                          // of the LUT-2D tables that are factored
  boundary_rule boundary = boundary_rule::eq6;
  double tolerance = 0.01;                     // relative Frobenius error, for dynamic_rank only
  low_rank_path path = low_rank_path::automatic;
  // dynamic_rank only: a rank fixed at run time (> 0; the tolerance is then unused), or 0 for
  // the tolerance's rank. A scheme named at run time (retrain --rank) cannot have R.
  int rank = 0;

  low_rank_gradients low_rank(const product_table& lut) const {
    static_assert(R > 0 || R == dynamic_rank);
    require(R == dynamic_rank || rank == 0, "amgrad::lut2d_lowrank", "the run-time rank (", rank,
            ") is for lut2d_lowrank<dynamic_rank> only; this scheme's rank is ", R);
    return low_rank_of(lut2d{hws, boundary}.tables(lut), R > 0 ? R : rank, tolerance);
  }
  // The rank-R tables themselves (what either kernel computes with).
  gradient_tables tables(const product_table& lut) const { return low_rank(lut).expand(); }
};

static_assert(low_rank_scheme<lut2d_lowrank<2>> && low_rank_scheme<lut2d_lowrank<>>);

}  // namespace amgrad
