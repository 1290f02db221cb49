"""Quantizer estimators, α, M and the alignment metrics, from the C++ library (``amgrad::quant``).

An estimator Q̂' replaces the derivative of the affine quantizer q = clamp(round(x/s) + Z) in the
backward (paper "Custom gradient estimators are STE in disguise"); it is not the AppMult gradient
scheme (``amgrad.ste``, ``amgrad.lut2d``), which estimates dAM/da. Positions are in code units,
v = x/s + Z; [lo, hi] is the operand's code range, the window [lo - 1/2, hi + 1/2]::

    e = amgrad.quant.htge(5.5)           # sharpness t per bin, in (0, 40]
    e.derivative(v, -2, 1)               # Q̂'(v), float64 tensor
    e.alpha(-2, 1)                       # (α, quadrature error), Eq. 4
    e.remap(w, scale, zero_point, bits=2)  # M(w) in weight units, per channel
    amgrad.nn.ApproxLinear(..., weight_estimator=e, activation_estimator=amgrad.quant.pwl())
"""
from typing import Union

import torch

from . import _C
from ._C import Estimator

__all__ = ["Estimator", "ste", "pwl", "htge", "mad", "alpha", "alignment_error",
           "weight_agreement"]


def ste() -> Estimator:
    """Q̂' = 1 everywhere, no clipping."""
    return Estimator("ste")


def pwl() -> Estimator:
    """Q̂' = 1 in the window, 0 outside: the clipping STE, the modules' default."""
    return Estimator("pwl")


def htge(t: float) -> Estimator:
    """Pei et al. 2023: Q̂' = (t/2) sech²(t (v - m)) in the window, m = floor(v) + 1/2."""
    return Estimator("htge", float(t))


def mad() -> Estimator:
    """Sakr et al. 2022: Q̂' = 1 in the window, c / |v - Z| outside."""
    return Estimator("mad")


def alpha(estimator: Estimator, lo: float, hi: float, zero_point: float = 0.0) -> float:
    """α of Eq. 4 (the library's adaptive Simpson; ``estimator.alpha`` also gives the error)."""
    return estimator.alpha(lo, hi, zero_point)[0]


def _t(v) -> torch.Tensor:
    return v if isinstance(v, torch.Tensor) else torch.tensor(v)


def alignment_error(a: torch.Tensor, b: torch.Tensor, range_length: float = None, *,
                    scale=None, zero_point=0, bits: int = None, signed: bool = True) -> float:
    """Ē (section 6.2) as a fraction: mean |a - b| / range_length, or, given scale (a number or
    one per output channel, a's first dimension) and bits, per channel over s (hi - lo)."""
    if scale is None:
        if range_length is None:
            raise _C.Error("amgrad.quant.alignment_error: give range_length, or scale and bits")
        return _C.alignment_error(a, b, float(range_length))
    if bits is None:
        raise _C.Error("amgrad.quant.alignment_error: scale needs bits")
    return _C.alignment_error_params(a, b, _t(scale), _t(zero_point), bits, signed)


def weight_agreement(a: torch.Tensor, b: torch.Tensor, scale, zero_point=0, bits: int = 8,
                     signed: bool = True) -> float:
    """The fraction of equal codes of a and b, both quantized with (scale, zero_point) on the
    (bits, signed) operand (scale per tensor or per output channel)."""
    return _C.weight_agreement(a, b, _t(scale), _t(zero_point), bits, signed)
