"""Multipliers and gradient schemes as Python objects, over the C++ core."""
import types
from dataclasses import dataclass
from typing import Optional

import torch

from . import _C

__all__ = ["Multiplier", "Scheme", "ste", "lut1d", "lut2d", "multiplier", "models",
           "builtin_models", "builtin_schemes"]


class Multiplier:
    """An AppMult: its truth table (a C++ ``amgrad::product_table``), operand width and signedness.

    Make one from a built-in model (``amgrad.models.drum(4, bits=8)``, ``amgrad.multiplier("drum:4")``),
    a table file in any of the three formats (``Multiplier.read(path)``) or a tensor
    (``Multiplier.from_tensor(t, signed=False)``: ``t[a_code, b_code]``, ``code = value - min_value``).
    """

    def __init__(self, table: "_C.Table", label: str = "table"):
        self._table = table
        self.label = label

    @classmethod
    def from_spec(cls, spec: str, bits: int = 8, signed: bool = False) -> "Multiplier":
        return cls(_C.Table.from_spec(spec, bits, signed), spec)

    @classmethod
    def read(cls, path, format: Optional[str] = None, signed: Optional[bool] = None,
             bits: Optional[int] = None, label: Optional[str] = None) -> "Multiplier":
        """Reads a DATE'25, ApproxTorch or TFApprox table (detected from the content unless
        ``format`` says: "date", "approxtorch", "tfapprox"); .gz files are decompressed."""
        path = str(path)
        if label is None:
            import os
            label = os.path.basename(path).split(".")[0]
        return cls(_C.Table.read(path, format, signed, bits), label)

    @classmethod
    def from_tensor(cls, table: torch.Tensor, signed: bool = False, label: str = "table") -> "Multiplier":
        return cls(_C.Table.from_tensor(table, signed), label)

    @property
    def bits(self) -> int:
        return self._table.bits

    @property
    def signed(self) -> bool:
        return self._table.signed

    @property
    def table(self) -> torch.Tensor:
        """The truth table, an int32 tensor [2^B, 2^B] indexed by operand codes."""
        return self._table.tensor()

    def write(self, path, format: str = "date") -> None:
        self._table.write(str(path), format)

    def backend(self, scheme: "Scheme") -> "_C.Backend":
        """The C++ backend (this table x the scheme) that the modules run."""
        if isinstance(scheme, str):
            scheme = Scheme(scheme)
        return _C.Backend(self._table, scheme.name, scheme.hws_value, scheme.rule, scheme.boundary,
                          self.label, scheme.rank, scheme.tolerance)

    def __eq__(self, other) -> bool:
        return isinstance(other, Multiplier) and self._table == other._table

    __hash__ = object.__hash__

    # Immutable: copies share it; pickles carry the table (so do torch.save(model), spawn args).
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return (_from_pickle, (self.table, self.signed, self.label))

    def __repr__(self) -> str:
        return f"amgrad.Multiplier({self.label!r}, bits={self.bits}, signed={self.signed})"


def _from_pickle(table, signed, label):
    return Multiplier.from_tensor(table, signed=signed, label=label)


@dataclass(frozen=True)
class Scheme:
    """A gradient scheme: "ste", "lut1d" (rate rule), "lut2d" (half window, boundary rule) or
    "lut2d_lowrank" (LUT-2D's tables by a truncated SVD: a fixed rank, or a tolerance)."""
    name: str = "ste"
    hws: Optional[int] = None          # None: the paper's default for the width (2^(B-3))
    rule: str = "signed_range"         # lut1d: signed_range | secant | lut2d_mean | least_squares
    boundary: str = "eq6"              # lut2d, lut2d_lowrank: eq6 | published
    rank: int = 0                      # lut2d_lowrank: > 0 fixes the rank; 0: from the tolerance
    tolerance: float = 0.01            # lut2d_lowrank: relative Frobenius error of each table

    @property
    def hws_value(self) -> int:
        return -1 if self.hws is None else int(self.hws)


def ste() -> Scheme:
    """Straight-through estimator: dAM/da = b, dAM/db = a."""
    return Scheme("ste")


def lut1d(rule: str = "signed_range", hws: Optional[int] = None) -> Scheme:
    """LUT-1D: dAM/da(a, b) = g_a(b), the average changing rate of column b (``rule``)."""
    return Scheme("lut1d", hws=hws, rule=rule)


def lut2d(hws: Optional[int] = None, boundary: str = "eq6") -> Scheme:
    """LUT-2D (DATE'25): central difference of the box-smoothed table, half window ``hws``."""
    return Scheme("lut2d", hws=hws, boundary=boundary)


def lut2d_lowrank(hws: Optional[int] = None, boundary: str = "eq6", rank: Optional[int] = None,
                  tolerance: float = 0.01) -> Scheme:
    """LUT-2D with each gradient table replaced by its truncated SVD (LAPACKE): ``rank`` terms, or
    the fewest whose relative Frobenius error is at most ``tolerance``. The backward runs the
    table kernel or R float GEMMs, whichever the library estimates cheaper."""
    return Scheme("lut2d_lowrank", hws=hws, boundary=boundary, rank=0 if rank is None else int(rank),
                  tolerance=float(tolerance))


def multiplier(spec: str, bits: int = 8, signed: bool = False) -> Multiplier:
    """A built-in model named by a spec: "drum:4", "bam:8,2", "exact"."""
    return Multiplier.from_spec(spec, bits, signed)


def builtin_models():
    """[(name, [parameter names], supports_signed)] from amgrad::builtin_models."""
    return [tuple(m) for m in _C.builtin_models()]


def builtin_schemes():
    return list(_C.builtin_schemes())


def _model_factory(name, params, supports_signed):
    def make(*args, bits: int = 8, signed: bool = False, **kwargs) -> Multiplier:
        values = list(args)
        for p in params[len(values):]:
            if p not in kwargs:
                raise TypeError(f"amgrad.models.{name}() missing parameter {p!r} "
                                f"(parameters: {', '.join(params) or 'none'})")
            values.append(kwargs.pop(p))
        if kwargs:
            raise TypeError(f"amgrad.models.{name}() got unexpected parameter(s) {sorted(kwargs)}")
        if len(values) != len(params):
            raise TypeError(f"amgrad.models.{name}() takes {len(params)} parameter(s) "
                            f"({', '.join(params) or 'none'}), got {len(values)}")
        spec = name + (":" + ",".join(str(int(v)) for v in values) if values else "")
        return Multiplier.from_spec(spec, bits, signed)

    make.__name__ = name
    make.__qualname__ = f"models.{name}"
    make.__doc__ = (f"The built-in model {name}({', '.join(params)}) "
                    f"({'signed or unsigned' if supports_signed else 'unsigned only'}), "
                    f"as a Multiplier of `bits` bits.")
    make.parameters = tuple(params)
    make.supports_signed = supports_signed
    return make


# amgrad.models.<name>(params..., bits=8, signed=False), one per entry of amgrad::builtin_models.
models = types.SimpleNamespace(**{name: _model_factory(name, list(params), bool(sig))
                                  for name, params, sig in _C.builtin_models()})
