#pragma once
// The contracts of amgrad's policies, as small named checks that compose (in the manner of
// Boost.Hana's concepts). Each policy concept is the conjunction of checks that read as the
// requirement they state; the class templates that take a policy static_assert the concept with
// a message a user can act on, so a bad policy fails in one readable line.
#include <concepts>
#include <cstdint>
#include <vector>

#include "amgrad/matrix.hpp"
#include "amgrad/operand.hpp"
#include "amgrad/table/gradient_tables.hpp"
#include "amgrad/table/table.hpp"

namespace amgrad {

// ---- small checks -----------------------------------------------------------------------------

// `static constexpr const char* name`: tools and reports print it.
template <class T>
concept named = requires {
  { T::name } -> std::convertible_to<const char*>;
};

// ---- operand ----------------------------------------------------------------------------------

// A compile-time operand: a width the table kernels support and the code <-> value mapping.
template <class T>
concept operand_policy = requires(int x) {
  { T::format } -> std::convertible_to<operand_format>;
  { T::value(x) } -> std::same_as<int>;
  { T::code(x) } -> std::same_as<int>;
} && T::bits >= min_bits && T::bits <= max_bits;

// ---- multiplier model -------------------------------------------------------------------------

// `static constexpr bool supports_signed`: false when the design has no signed definition.
template <class M>
concept declares_signedness = requires {
  { M::supports_signed } -> std::convertible_to<bool>;
};

// `model(Operand{}, a, b)` on operand values returns an integer product.
template <class M, class Operand>
concept multiplies = requires(const M& model, int a, int b) {
  { model(Operand{}, a, b) } -> std::convertible_to<std::int64_t>;
};

template <class M, class Operand>
concept multiplier_model =
    operand_policy<Operand> && named<M> && declares_signedness<M> && multiplies<M, Operand>;

// Whether the model has a definition for the operand (unsigned-only designs refuse signed ones).
template <class M, class Operand>
concept defined_for = multiplier_model<M, Operand> && (M::supports_signed || !Operand::is_signed);

// ---- gradient scheme --------------------------------------------------------------------------

// `gradient_tables tables(const product_table&) const`: the full dAM/da and dAM/db.
template <class S>
concept makes_gradient_tables = requires(const S& scheme, const product_table& lut) {
  { S::is_separable } -> std::convertible_to<bool>;
  { scheme.tables(lut) } -> std::same_as<gradient_tables>;
};

template <class S>
concept gradient_scheme = named<S> && makes_gradient_tables<S>;

// A scheme whose dAM/da depends on b only (and dAM/db on a only) says so and gives the factors:
// `separable_gradients factors(const product_table&) const`. The backward is then a map + GEMM.
template <class S>
concept separable_scheme = gradient_scheme<S> && S::is_separable &&
                           requires(const S& scheme, const product_table& lut) {
                             { scheme.factors(lut) } -> std::same_as<separable_gradients>;
                           };

// A scheme that claims separability must provide the factors.
template <class S>
concept consistent_scheme = gradient_scheme<S> && (!S::is_separable || separable_scheme<S>);

// A scheme whose gradient tables come in low-rank form, G(a, b) ~ sum_r u_r(a) v_r(b), says so
// (`static constexpr bool is_low_rank = true`) and gives the factors:
// `low_rank_gradients low_rank(const product_table&) const` (gradient/lut2d_lowrank.hpp), with a
// `low_rank_path path` member that may force the host kernel. The backward is then R GEMMs.
template <class S>
concept low_rank_scheme = gradient_scheme<S> && requires(const S& scheme, const product_table& lut) {
  { S::is_low_rank } -> std::convertible_to<bool>;
  { scheme.low_rank(lut).da.rank } -> std::convertible_to<int>;
  { scheme.low_rank(lut).db.u } -> std::convertible_to<std::vector<float>>;
  scheme.path;
} && S::is_low_rank;

// ---- engine -----------------------------------------------------------------------------------

// What the quantized ops need from an AppMult engine (amgrad::appmult has it): the operand type
// and the three passes on code matrices.
template <class E>
concept engine = requires(const E& e, matrix_view<const code_t> a, matrix_view<const code_t> b,
                          matrix_view<std::int32_t> y, matrix_view<const float> dy,
                          matrix_view<float> d) {
  typename E::operand_type;
  e.forward(a, b, y);
  e.backward_da(a, b, dy, d);
  e.backward_db(a, b, dy, d);
} && operand_policy<typename E::operand_type>;

}  // namespace amgrad
