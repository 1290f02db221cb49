"""amgrad: retrain neural networks on approximate multipliers (AppMults), from Python.

The numbers all come from the C++ library (the extension ``amgrad._C``): truth tables of the
built-in models and of table files, gradient tables, error metrics, quantizer parameters and the
quantized linear / conv2d autograd functions. This package adds Python objects around them:

    import amgrad
    mult = amgrad.models.drum(4, bits=8)            # or amgrad.multiplier("drum:4")
    scheme = amgrad.lut2d(hws=16)
    model = amgrad.nn.convert(torch_model, mult, scheme,
                              weight_estimator=amgrad.quant.htge(5.5))  # default: pwl
"""
import torch  # noqa: F401  (loads libtorch before the extension)

from . import _C
from ._C import Error, has_device_path
from .core import (Multiplier, Scheme, lut1d, lut2d, lut2d_lowrank, models, multiplier, ste,
                   builtin_models, builtin_schemes)
from . import lut
from . import quant
from . import nn

__all__ = ["Error", "Multiplier", "Scheme", "ste", "lut1d", "lut2d", "lut2d_lowrank", "models", "multiplier",
           "builtin_models", "builtin_schemes", "lut", "quant", "nn", "has_device_path"]
__version__ = "0.1.0"
