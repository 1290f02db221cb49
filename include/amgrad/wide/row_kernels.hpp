#pragma once
// The forward's inner loop, one "row kernel" per model family: out[j] += AM(a, B[p][j]) for a
// fixed a along a row of B. Each kernel maps B once per element (the operand-side work of its
// model) and runs a branch-free loop over plain arrays that the compiler vectorises:
//   separable  exact, DRUM: AM = f(a) f(b), an int64 multiply-add on f(B)
//   masked     truncation, BAM: the partial-product rows of a: one multiply for the rows that
//              keep the same bits of b, a shift and an add per set bit of a on the diagonal
//   mitchell   2^kb and the fraction b - 2^kb per element; per MAC shifts, a compare, a select
//   scalar     the rest: wide::multiply per MAC
// Signed operands are sign-magnitude, as multiply_bits: the magnitude is computed in uint32 and
// the sign (sign(a) xor sign(b), per-element masks) applied to it before the int64 add.
#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "amgrad/multiplier/bam.hpp"
#include "amgrad/wide/multiply.hpp"
#include "amgrad/wide/operand.hpp"

namespace amgrad::wide::detail {

// |value| and its sign as a mask (0 or -1), for the sign-magnitude models.
template <class Operand>
struct magnitudes {
  std::vector<std::uint32_t> magnitude;
  std::vector<std::int32_t> sign;  // empty for unsigned operands

  magnitudes(const code_t* codes, std::size_t count)
      : magnitude(count), sign(Operand::is_signed ? count : 0) {
    for (std::size_t i = 0; i < count; ++i) {
      const int v = Operand::value(codes[i]);
      magnitude[i] = static_cast<std::uint32_t>(v < 0 ? -v : v);
      if constexpr (Operand::is_signed) sign[i] = v < 0 ? -1 : 0;
    }
  }
};

// out[j] += +-magnitude(j), negated where the signs of a and b_j differ. A signed operand's
// magnitude is at most 2^(B-1), so the product's magnitude (<= |a||b| for these models, which
// never round up) fits int32 and is negated there; an unsigned one needs all 32 bits.
template <class Operand, class Magnitude>
inline void add_products(std::int64_t* out, std::size_t n, const std::int32_t* sign_b,
                         std::int32_t sign_a, Magnitude&& magnitude) {
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint32_t r = magnitude(j);
    if constexpr (Operand::is_signed) {
      const std::int32_t s = sign_a ^ sign_b[j];
      out[j] += (static_cast<std::int32_t>(r) ^ s) - s;
    } else {
      out[j] += r;
    }
  }
}

template <class Operand, class Model>
struct separable_rows {
  const Model& model_;
  std::vector<std::int64_t> f;  // f(B)

  static std::int64_t map(const Model& model, int v) {
    if constexpr (std::is_same_v<Model, amgrad::drum>) {  // each operand rounded on its own
      const auto m = static_cast<std::int64_t>(fast_unsigned_product(
          model, Operand::bits, static_cast<std::uint32_t>(v < 0 ? -v : v), 1u));
      return v < 0 ? -m : m;
    } else {
      return v;
    }
  }
  separable_rows(const Model& model, const code_t* b, std::size_t count) : model_(model), f(count) {
    for (std::size_t i = 0; i < count; ++i) f[i] = map(model, Operand::value(b[i]));
  }
  void add(std::int64_t* out, int a, std::size_t offset, std::size_t n) const {
    const std::int64_t fa = map(model_, a);
    const std::int64_t* fb = f.data() + offset;
    for (std::size_t j = 0; j < n; ++j) out[j] += fa * fb[j];
  }
};

// Truncation and BAM as masked partial products. With a fixed, AM(a, b) = sum over the set bits
// p of |a| of (|b| & keep_p) << p, keep_p = the bits of b at or above the threshold t_p:
//   truncated{k}: t_p = k - p               (columns p + q < k dropped)
//   bam{h, v}:    t_p = max(h, v - p)        (rows q < h of b and columns p + q < v omitted)
// (truncated{k} is bam{0, k}.) A row with t_p >= B keeps nothing. The rows p >= v - h have
// t_p = h: one multiply, (|b| & keep_h) * (|a| & those rows). The others lie on the diagonal,
// t_p = v - p, where (|b| & keep_p) << p = (|b| >> (v - p)) << v: a shift and an add each, and
// only for the set bits of |a|. Their shifts go up to eight per sweep of the row, padded with 31
// (|b| < 2^17, so |b| >> 31 = 0); every partial sum is at most AM < 2^32.
template <class Operand>
struct masked_rows {
  int v = 0;                      // the diagonal's column: row p shifts |b| right by v - p
  std::uint32_t flat_keep = 0;    // keep_h
  std::uint32_t flat_rows = 0;    // the rows p >= v - h (bit p set), those with t_p = h < B
  std::vector<int> diagonal;      // the rows h < t_p = v - p < B
  magnitudes<Operand> b_;

  template <class Model>
  masked_rows(const Model& model, const code_t* b, std::size_t count) : b_(b, count) {
    constexpr int bits = Operand::bits;
    int h = 0;
    if constexpr (std::is_same_v<Model, amgrad::truncated>) v = model.columns;
    else h = model.hbl, v = model.vbl;
    flat_keep = h >= bits ? 0u : ((1u << bits) - 1u) & ~((1u << h) - 1u);
    for (int p = 0; p < bits; ++p) {
      const int t = std::max(h, v - p);
      if (t >= bits) continue;  // the row is dropped
      if (t == h) flat_rows |= 1u << p;
      else diagonal.push_back(p);
    }
  }

  template <std::size_t Width>
  void sweep(std::int64_t* out, int a, std::uint32_t flat, const int* shift, std::size_t offset,
             std::size_t n) const {
    const std::uint32_t* mb = b_.magnitude.data() + offset;
    const std::int32_t* sb = Operand::is_signed ? b_.sign.data() + offset : nullptr;
    std::array<int, Width> s{};
    std::copy(shift, shift + Width, s.begin());
    add_products<Operand>(out, n, sb, a < 0 ? -1 : 0, [&](std::size_t j) {
      const std::uint32_t m = mb[j];
      std::uint32_t d = 0;
      for (std::size_t q = 0; q < Width; ++q) d += m >> s[q];
      return (m & flat_keep) * flat + (d << v);
    });
  }

  void add(std::int64_t* out, int a, std::size_t offset, std::size_t n) const {
    const auto ma = static_cast<std::uint32_t>(a < 0 ? -a : a);
    std::array<int, Operand::bits + 8> shift;  // the active diagonal rows' shifts, then padding
    std::size_t active = 0;
    for (const int p : diagonal) {
      shift[active] = v - p;
      active += (ma >> p) & 1u;
    }
    std::fill(shift.begin() + static_cast<std::ptrdiff_t>(active), shift.end(), 31);
    std::uint32_t flat = ma & flat_rows;
    if (active <= 4) {
      if (active > 0 || flat != 0) sweep<4>(out, a, flat, shift.data(), offset, n);
      return;
    }
    for (std::size_t g = 0; g < active; g += 8, flat = 0)  // the flat rows in the first sweep
      sweep<8>(out, a, flat, shift.data() + g, offset, n);
  }
};

// Mitchell: per element of B, 2^kb (kb = bit_width(|b|) - 1) and the fraction |b| - 2^kb, both
// 0 for b = 0, which makes the product 0 below without a test. Per MAC, as
// fast_unsigned_product: scale = 2^(ka+kb), frac = fa 2^kb + fb 2^ka (< 2 scale <= 2^31, so the
// compare is a signed one), AM = frac < scale ? scale + frac : 2 frac.
template <class Operand>
struct mitchell_rows {
  std::vector<std::uint32_t> power, fraction;
  std::vector<std::int32_t> sign;

  mitchell_rows(const code_t* b, std::size_t count) {
    magnitudes<Operand> mb(b, count);
    power.resize(count);
    fraction.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
      power[i] = std::bit_floor(mb.magnitude[i]);
      fraction[i] = mb.magnitude[i] - power[i];
    }
    sign = std::move(mb.sign);
  }

  void add(std::int64_t* out, int a, std::size_t offset, std::size_t n) const {
    const auto ma = static_cast<std::uint32_t>(a < 0 ? -a : a);
    if (ma == 0) return;
    const int ka = static_cast<int>(std::bit_width(ma)) - 1;
    const std::uint32_t fa = ma - (1u << ka);
    const std::uint32_t* pb = power.data() + offset;
    const std::uint32_t* fb = fraction.data() + offset;
    const std::int32_t* sb = Operand::is_signed ? sign.data() + offset : nullptr;
    add_products<Operand>(out, n, sb, a < 0 ? -1 : 0, [&](std::size_t j) {
      const std::uint32_t scale = pb[j] << ka;
      const std::uint32_t frac = fa * pb[j] + (fb[j] << ka);
      const bool below = static_cast<std::int32_t>(frac) < static_cast<std::int32_t>(scale);
      return below ? scale + frac : 2u * frac;
    });
  }
};

template <class Operand, class Model>
struct scalar_rows {
  const Model& model_;
  std::vector<int> values;

  scalar_rows(const Model& model, const code_t* b, std::size_t count)
      : model_(model), values(count) {
    for (std::size_t i = 0; i < count; ++i) values[i] = Operand::value(b[i]);
  }
  void add(std::int64_t* out, int a, std::size_t offset, std::size_t n) const {
    const int* bv = values.data() + offset;
    for (std::size_t j = 0; j < n; ++j) out[j] += amgrad::wide::multiply<Operand>(model_, a, bv[j]);
  }
};

// The row kernel of a model, with B (count codes) mapped for it; it refers to the model, which
// outlives it (one forward call).
template <class Operand, class Model>
auto make_row_kernel(const Model& model, const code_t* b, std::size_t count) {
  if constexpr (std::is_same_v<Model, amgrad::exact> || std::is_same_v<Model, amgrad::drum>)
    return separable_rows<Operand, Model>(model, b, count);
  else if constexpr (std::is_same_v<Model, amgrad::truncated> || std::is_same_v<Model, amgrad::bam>)
    return masked_rows<Operand>(model, b, count);
  else if constexpr (std::is_same_v<Model, amgrad::mitchell>)
    return mitchell_rows<Operand>(b, count);
  else
    return scalar_rows<Operand, Model>(model, b, count);
}

}  // namespace amgrad::wide::detail
