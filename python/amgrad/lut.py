"""Characterise a multiplier: error metrics and gradient tables (the C++ amgrad-lut, as functions)."""
from typing import Dict, Tuple

import torch

from .core import Multiplier, Scheme

__all__ = ["info", "gradients", "convert"]


def info(mult: Multiplier) -> Dict[str, torch.Tensor]:
    """Error metrics against the exact product (amgrad::metrics): error_rate, med, nmed (over the
    largest |a*b|), nmed_over_2_pow_2b (DATE'25's), mred, wce, bias, mse, as 0-d float64 tensors,
    plus bits, signed and pairs as Python values."""
    m = mult._table.metrics()
    out = {}
    for key, value in m.items():
        if key in ("bits", "signed", "pairs", "mred_pairs"):
            out[key] = value
        else:
            out[key] = torch.tensor(value, dtype=torch.float64)
    return out


def gradients(mult: Multiplier, scheme: Scheme) -> Tuple[torch.Tensor, torch.Tensor]:
    """(dAM/da, dAM/db) of the scheme, float32 tensors [2^B, 2^B] indexed [a_code, b_code]."""
    if isinstance(scheme, str):
        scheme = Scheme(scheme)
    return mult._table.gradients(scheme.name, scheme.hws_value, scheme.rule, scheme.boundary)


def convert(src, dst, to: str = "date", **read_options) -> None:
    """Rewrites a table file in another format ("date", "approxtorch", "tfapprox")."""
    Multiplier.read(src, **read_options).write(dst, to)
