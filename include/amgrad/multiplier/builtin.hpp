#pragma once
// Every built-in multiplier model, and their names for tools that pick a model at run time.
//
//   model                 parameters        signed          reference
//   exact                 -                 two's compl.    -
//   truncated{k}          dropped columns   sign-magnitude  Wires et al., FPL 2001
//   bam{hbl, vbl}         break levels      sign-magnitude  Mahdiani et al., TCAS-I 2010
//   drum{k}               kept bits         sign-magnitude  Hashemi et al., ICCAD 2015
//   mitchell{}            -                 sign-magnitude  Mitchell, IRE Trans. EC 1962
//   kulkarni{}            -                 sign-magnitude  Kulkarni et al., VLSI Design 2011
//   etm{k}                low-part width    unsigned only   Kyaw et al., EDSSC 2010
//   perforated{i, n}      omitted rows      unsigned only   Zervakis et al., TVLSI 2016
#include <array>
#include <string_view>

#include "amgrad/multiplier/bam.hpp"
#include "amgrad/multiplier/drum.hpp"
#include "amgrad/multiplier/etm.hpp"
#include "amgrad/multiplier/exact.hpp"
#include "amgrad/multiplier/kulkarni.hpp"
#include "amgrad/multiplier/mitchell.hpp"
#include "amgrad/multiplier/perforated.hpp"
#include "amgrad/multiplier/truncated.hpp"

namespace amgrad {

// The `name` of each built-in model, in the order of the table above.
inline constexpr std::array<std::string_view, 8> builtin_model_names{
    exact::name,    truncated::name, bam::name, drum::name,
    mitchell::name, kulkarni::name,  etm::name, perforated::name};

// Whether `name` is the name of a built-in model.
constexpr bool is_builtin_model(std::string_view name) {
  for (auto n : builtin_model_names)
    if (n == name) return true;
  return false;
}

}  // namespace amgrad
