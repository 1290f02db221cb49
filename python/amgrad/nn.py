"""ApproxLinear, ApproxConv2d and the converter.

The modules are ``torch.nn.Module`` subclasses written in Python; their forward calls the C++
autograd functions of ``amgrad::nn`` (``linear_function`` / ``conv2d_function``, over
``amgrad::ops::linear`` / ``conv2d``) through the extension, with the GIL released while the
kernels run. Python keeps what is bookkeeping: the activation range (an EMA of the batch min/max,
momentum 0.1, in training; frozen in eval), reshaping, groups. The quantization recipe is the C++
one: activations per tensor (unsigned with a zero point for unsigned operands), weights per output
channel from their current min/max, and the quantizers' estimators chosen per layer for the
weights and the activations (``weight_estimator=amgrad.quant.htge(5.5)``; default
``amgrad.quant.pwl()``, the clipping STE). The state_dict holds ``weight``, ``bias`` and
``activation_range`` ([lo, hi, initialized]) under the names the C++ modules use.
"""
import fnmatch
import math
from typing import Callable, Iterable, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from . import _C
from . import quant
from .core import Multiplier, Scheme

__all__ = ["ApproxLinear", "ApproxConv2d", "convert", "activation_momentum"]

activation_momentum = 0.1


def _pair(v) -> Tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"expected an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


class _Approx(nn.Module):
    """What both layers share: the multiplier, the scheme, the backend and the range observer."""

    def _init_approx(self, multiplier, scheme, sync_range, weight_estimator, activation_estimator):
        self.register_buffer("activation_range", torch.zeros(3))
        self.sync_range = sync_range
        self.set_multiplier(multiplier, scheme)
        self.set_estimators(weight_estimator, activation_estimator)

    def set_estimators(self, weight: Optional[quant.Estimator] = None,
                       activation: Optional[quant.Estimator] = None) -> None:
        """The quantizer estimators (amgrad.quant) of the weights and of the activations; None:
        pwl, the clipping STE."""
        for what, e in (("weight", weight), ("activation", activation)):
            if e is not None and not isinstance(e, quant.Estimator):
                raise _C.Error(f"{self._where}: the {what} estimator must be an amgrad.quant "
                               f"estimator (amgrad.quant.htge(5.5) ...), got {e!r}")
        self.weight_estimator = weight if weight is not None else quant.pwl()
        self.activation_estimator = activation if activation is not None else quant.pwl()

    def set_multiplier(self, multiplier: Optional[Multiplier], scheme=None) -> None:
        """Runs the layer on `multiplier` with `scheme` (STE by default); None: a float layer."""
        if isinstance(multiplier, str):
            multiplier = Multiplier.from_spec(multiplier)
        if isinstance(scheme, str):
            scheme = Scheme(scheme)
        self.multiplier = multiplier
        self.scheme = scheme if scheme is not None else Scheme("ste")
        self._backend = None if multiplier is None else _backend_of(multiplier, self.scheme)

    @property
    def backend(self):
        return self._backend

    # The C++ backend is not picklable: rebuilt from the multiplier and the scheme.
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_backend"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.multiplier is not None:
            self._backend = _backend_of(self.multiplier, self.scheme)

    def _observe(self, x: torch.Tensor) -> Tuple[float, float]:
        """The activation range this batch is quantized with: in training an EMA of the batch
        min/max (the first batch sets it), in eval the stored one. The same float arithmetic as
        the C++ modules (double, stored as float32), so the two agree bit for bit."""
        r = self.activation_range
        lo0, hi0, ready = r.tolist()
        if self.training:
            with torch.no_grad():
                lo_hi = torch.stack(torch.aminmax(x.detach())).to(torch.float32)
                if (self.sync_range and torch.distributed.is_available()
                        and torch.distributed.is_initialized()):
                    # The same quantizer on every rank: the range of the global batch.
                    lo, hi = lo_hi[0:1].clone(), lo_hi[1:2].clone()
                    torch.distributed.all_reduce(lo, op=torch.distributed.ReduceOp.MIN)
                    torch.distributed.all_reduce(hi, op=torch.distributed.ReduceOp.MAX)
                    lo_hi = torch.cat([lo, hi])
                lo, hi = lo_hi.tolist()
                if ready != 0.0:
                    m = activation_momentum
                    lo, hi = (1 - m) * lo0 + m * lo, (1 - m) * hi0 + m * hi
                r.copy_(torch.tensor([lo, hi, 1.0], dtype=torch.float32))
            lo0, hi0, ready = r.tolist()
        if ready == 0.0:
            raise _C.Error(f"{self._where}: an approximate layer ran in eval mode before any "
                           "training-mode batch set its activation range (calibrate)")
        return lo0, hi0

    def extra_repr_approx(self) -> str:
        if self.multiplier is None:
            return "float"
        return (f"multiplier={self.multiplier!r}, scheme={self.scheme!r}, "
                f"weight_estimator={self.weight_estimator!r}, "
                f"activation_estimator={self.activation_estimator!r}")


def _stream_of(x: torch.Tensor) -> int:
    """The cudaStream_t (as an int) of PyTorch's current stream on x's device; 0 on the CPU."""
    return torch.cuda.current_stream(x.device).cuda_stream if x.is_cuda else 0


def _backend_of(mult: Multiplier, scheme: Scheme):
    cache = mult.__dict__.setdefault("_backends", {})
    if scheme not in cache:
        cache[scheme] = mult.backend(scheme)
    return cache[scheme]


class ApproxLinear(_Approx):
    """A linear layer whose multiplications run on an AppMult. Input [..., in_features]."""
    _where = "amgrad.nn.ApproxLinear"

    def __init__(self, in_features: int, out_features: int, multiplier: Optional[Multiplier] = None,
                 scheme=None, bias: bool = True, sync_range: bool = True,
                 weight_estimator: Optional[quant.Estimator] = None,
                 activation_estimator: Optional[quant.Estimator] = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        init = nn.Linear(in_features, out_features, bias=bias)  # torch's initialisation
        self.weight = nn.Parameter(init.weight.detach().clone())
        self.bias = nn.Parameter(init.bias.detach().clone()) if bias else None
        self._init_approx(multiplier, scheme, sync_range, weight_estimator, activation_estimator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._backend is None:
            return F.linear(x, self.weight, self.bias)
        _C.check_module_tensors(self._where, x, self.weight, self.bias, self.activation_range)
        if x.dim() < 1 or x.shape[-1] != self.in_features:
            raise _C.Error(f"{self._where}: input {list(x.shape)} does not fit weight "
                           f"{list(self.weight.shape)} (expected [..., {self.in_features}])")
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)
        lo, hi = self._observe(x2)
        y = _C.linear(x2, self.weight, self.bias, self._backend, lo, hi, self.weight_estimator,
                      self.activation_estimator, _stream_of(x))
        return y.reshape(*lead, self.out_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, {self.extra_repr_approx()}")


class ApproxConv2d(_Approx):
    """A 2-D convolution (NCHW) whose multiplications run on an AppMult."""
    _where = "amgrad.nn.ApproxConv2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 multiplier: Optional[Multiplier] = None, scheme=None, sync_range: bool = True,
                 weight_estimator: Optional[quant.Estimator] = None,
                 activation_estimator: Optional[quant.Estimator] = None):
        super().__init__()
        if padding_mode != "zeros":
            raise _C.Error(f"{self._where}: padding_mode {padding_mode!r} is not supported "
                           "(the quantized im2col pads with the zero point: 'zeros')")
        if in_channels % groups or out_channels % groups:
            raise _C.Error(f"{self._where}: {in_channels} input and {out_channels} output "
                           f"channels do not divide into {groups} groups")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride, self.dilation = _pair(kernel_size), _pair(stride), _pair(dilation)
        if isinstance(padding, str):
            if padding == "valid":
                padding = 0
            elif padding == "same":
                ext = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
                if any(e % 2 for e in ext) or self.stride != (1, 1):
                    raise _C.Error(f"{self._where}: padding='same' needs stride 1 and an odd "
                                   "(dilated) kernel extent here")
                padding = (ext[0] // 2, ext[1] // 2)
            else:
                raise _C.Error(f"{self._where}: unknown padding {padding!r}")
        self.padding = _pair(padding)
        init = nn.Conv2d(in_channels, out_channels, self.kernel_size, groups=groups, bias=bias)
        self.weight = nn.Parameter(init.weight.detach().clone())
        self.bias = nn.Parameter(init.bias.detach().clone()) if bias else None
        self._init_approx(multiplier, scheme, sync_range, weight_estimator, activation_estimator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._backend is None:
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                            self.groups)
        _C.check_module_tensors(self._where, x, self.weight, self.bias, self.activation_range)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise _C.Error(f"{self._where}: input {list(x.shape)} does not fit weight "
                           f"{list(self.weight.shape)} (expected NCHW with C = {self.in_channels})")
        lo, hi = self._observe(x)
        args = (self._backend, lo, hi, self.stride, self.padding, self.dilation,
                self.weight_estimator, self.activation_estimator, _stream_of(x))
        if self.groups == 1:
            return _C.conv2d(x, self.weight, self.bias, *args)
        # One C++ convolution per group: the activation quantizer (per tensor) is shared, the
        # weight quantizer is per output channel either way.
        cin, cout = self.in_channels // self.groups, self.out_channels // self.groups
        outs = []
        for g in range(self.groups):
            b = None if self.bias is None else self.bias[g * cout:(g + 1) * cout]
            outs.append(_C.conv2d(x[:, g * cin:(g + 1) * cin], self.weight[g * cout:(g + 1) * cout],
                                  b, *args))
        return torch.cat(outs, dim=1)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}, {self.extra_repr_approx()}")


def _per_layer(choice, name, module):
    if callable(choice) and not isinstance(choice, (Multiplier, Scheme)):
        return choice(name, module)
    if isinstance(choice, dict):
        for pattern, value in choice.items():
            if fnmatch.fnmatchcase(name, pattern):
                return value
        return None
    return choice


def _replacement(module, mult, scheme, weight_estimator, activation_estimator):
    if isinstance(module, nn.Linear):
        new = ApproxLinear(module.in_features, module.out_features, None, None,
                           bias=module.bias is not None)
    else:
        if module.padding_mode != "zeros":
            raise _C.Error(f"amgrad.nn.convert: padding_mode {module.padding_mode!r} is not supported")
        new = ApproxConv2d(module.in_channels, module.out_channels, module.kernel_size,
                           module.stride, module.padding, module.dilation, module.groups,
                           bias=module.bias is not None)
    # The same Parameter objects: an optimizer made before the conversion still updates them.
    new.weight = module.weight
    new.bias = module.bias
    new.to(device=module.weight.device)
    new.set_multiplier(mult, scheme)
    new.set_estimators(weight_estimator, activation_estimator)
    new.train(module.training)
    return new


def convert(model: nn.Module, multiplier, scheme=None,
            layers: Tuple[type, ...] = (nn.Conv2d, nn.Linear),
            skip: Union[Iterable[str], Callable[[str, nn.Module], bool]] = (),
            weight_estimator=None, activation_estimator=None) -> nn.Module:
    """Swaps, in place, every module of a type in `layers` (nn.Linear, nn.Conv2d) for an
    ApproxLinear / ApproxConv2d that keeps its parameters (the same Parameter objects).

    multiplier, scheme: one for every layer, or per layer: a dict {name pattern: value} (fnmatch
    patterns over qualified module names, first match wins; a layer no pattern matches, or
    matched to None, is left as it is) or a callable (name, module) -> value.
    skip: qualified names (fnmatch patterns) or a callable (name, module) -> bool.
    weight_estimator, activation_estimator: the quantizers' estimators (amgrad.quant, default
    pwl), one for every layer or per layer as multiplier and scheme are.
    Returns the model (the replacement itself when `model` is one such layer)."""
    supported = tuple(t for t in layers if issubclass(t, (nn.Linear, nn.Conv2d)))
    if len(supported) != len(tuple(layers)):
        raise _C.Error("amgrad.nn.convert: only nn.Linear and nn.Conv2d layers can be converted")

    def skipped(name, module):
        if callable(skip):
            return bool(skip(name, module))
        return any(fnmatch.fnmatchcase(name, p) for p in skip)

    def target(name, module):
        if not isinstance(module, supported) or isinstance(module, _Approx) or skipped(name, module):
            return None
        mult = _per_layer(multiplier, name, module)
        if mult is None:
            return None
        if isinstance(mult, str):
            mult = Multiplier.from_spec(mult)
        sch = _per_layer(scheme, name, module) if scheme is not None else None
        return _replacement(module, mult, sch, _per_layer(weight_estimator, name, module),
                            _per_layer(activation_estimator, name, module))

    root = target("", model)
    if root is not None:
        return root
    for parent_name, parent in list(model.named_modules()):
        if isinstance(parent, nn.MultiheadAttention):
            continue  # it reads out_proj.weight itself and never calls out_proj's forward
        for child_name, child in list(parent.named_children()):
            name = f"{parent_name}.{child_name}" if parent_name else child_name
            new = target(name, child)
            if new is not None:
                setattr(parent, child_name, new)
    return model
