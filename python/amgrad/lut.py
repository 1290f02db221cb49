"""Characterise a multiplier: error metrics and gradient tables (the C++ amgrad-lut, as functions)."""
from typing import Dict, Tuple

import torch

from .core import Multiplier, Scheme

__all__ = ["info", "gradients", "propose_hws", "low_rank", "convert"]


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
    return mult._table.gradients(scheme.name, scheme.hws_value, scheme.rule, scheme.boundary,
                                 scheme.rank, scheme.tolerance)


def propose_hws(mult: Multiplier, max_roughness: float = 1.0 / 16) -> Dict[str, object]:
    """An LUT-2D half window from the table alone (amgrad::propose_hws, as ``amgrad-lut hws``):
    the smallest HWS of the ladder 1, 2, 4, ... whose gradient's relative code-to-code change is
    at most ``max_roughness``. Returns {"hws", "hws_a", "hws_b", "ladder": [(hws, roughness,
    roughness_a, roughness_b), ...]}."""
    return mult._table.propose_hws(float(max_roughness))


def low_rank(mult: Multiplier, scheme: Scheme) -> Tuple[Dict[str, object], Dict[str, object]]:
    """The truncated SVD behind an ``lut2d_lowrank`` scheme, for dAM/da and dAM/db: each a dict
    with the chosen "rank", all "singular_values" (float64, largest first) and "relative_error"
    (float64, index r: ||G - G_r|| / ||G|| for r = 0 .. side), as ``amgrad-lut rank``."""
    if scheme.name != "lut2d_lowrank":
        raise ValueError(f"amgrad.lut.low_rank: needs an lut2d_lowrank scheme, got {scheme.name!r}")
    return mult._table.low_rank(scheme.hws_value, scheme.boundary, scheme.rank, scheme.tolerance)


def convert(src, dst, to: str = "date", **read_options) -> None:
    """Rewrites a table file in another format ("date", "approxtorch", "tfapprox")."""
    Multiplier.read(src, **read_options).write(dst, to)
