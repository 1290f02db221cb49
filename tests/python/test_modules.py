"""ApproxLinear / ApproxConv2d: shapes, the quantization recipe, state_dict."""
import io

import pytest
import torch
import torch.nn.functional as F

import amgrad
from amgrad import _C
from amgrad.nn import ApproxConv2d, ApproxLinear


def test_linear_any_leading_shape():
    torch.manual_seed(0)
    layer = ApproxLinear(12, 5, amgrad.models.drum(4), amgrad.lut2d())
    x = torch.randn(3, 4, 12, requires_grad=True)                     # [B, T, C]
    y = layer(x)
    assert y.shape == (3, 4, 5)
    y.square().sum().backward()
    assert x.grad.shape == x.shape and layer.weight.grad.shape == (5, 12)
    # The same as the 2-D call on the flattened rows, bit for bit (same range: eval).
    layer.eval()
    assert torch.equal(layer(x.detach()).reshape(12, 5), layer(x.detach().reshape(12, 12)))
    assert layer(torch.randn(12)).shape == (5,)


def test_activation_range_ema_and_eval_freeze():
    layer = ApproxLinear(4, 2, amgrad.models.exact())
    x1 = torch.tensor([[-1.0, 2.0, 0.0, 0.5]])
    x2 = torch.tensor([[-3.0, 4.0, 0.0, 0.5]])
    layer(x1)
    assert layer.activation_range.tolist() == [-1.0, 2.0, 1.0]        # the first batch sets it
    layer(x2)
    assert torch.allclose(layer.activation_range, torch.tensor([-1.2, 2.2, 1.0]))  # momentum 0.1
    layer.eval()
    before = layer.activation_range.clone()
    layer(torch.full((1, 4), 100.0))
    assert torch.equal(layer.activation_range, before)                # frozen in eval
    lo, hi = float(before[0]), float(before[1])
    assert torch.equal(layer(x2), _C.linear(x2, layer.weight, layer.bias, layer.backend, lo, hi))


def test_weights_per_output_channel():
    layer = ApproxLinear(3, 2, amgrad.models.exact())
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.0, 1.0, -1.0], [0.0, 100.0, -50.0]]))
    scales, zps = layer.backend.weight_params(layer.weight)
    assert scales.shape == (2,) and zps.shape == (2,)
    assert torch.allclose(scales, torch.tensor([2.0 / 255, 150.0 / 255]))


@pytest.mark.parametrize("kw", [dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
                                dict(stride=1, padding="same", groups=2, bias=False),
                                dict(stride=2, padding=1, groups=4)])
def test_conv2d_options_match_torch_on_exact_multiplier(kw):
    torch.manual_seed(0)
    conv = ApproxConv2d(4, 8, (3, 3), multiplier=amgrad.models.exact(), **kw)
    x = torch.rand(2, 4, 9, 10)
    y = conv(x)
    ref = F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)
    assert y.shape == ref.shape
    # 8-bit quantization error only: well under the output's scale.
    assert (y - ref).abs().max() < 0.05 * ref.abs().max()
    y.sum().backward()
    assert conv.weight.grad.shape == conv.weight.shape


def test_float_layers_without_multiplier():
    lin = ApproxLinear(4, 3)
    x = torch.randn(2, 4)
    assert torch.equal(lin(x), F.linear(x, lin.weight, lin.bias))


def test_state_dict_round_trip():
    torch.manual_seed(0)
    mult = amgrad.models.mitchell(bits=7)
    a = torch.nn.Sequential(ApproxConv2d(1, 3, 3, padding=1, multiplier=mult, scheme=amgrad.lut2d()),
                            torch.nn.Flatten(), ApproxLinear(3 * 36, 4, mult, amgrad.lut1d()))
    x = torch.randn(2, 1, 6, 6)
    a(x)
    a.eval()
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    keys = set(a.state_dict())
    assert {"0.weight", "0.bias", "0.activation_range", "2.weight", "2.bias", "2.activation_range"} == keys
    b = torch.nn.Sequential(ApproxConv2d(1, 3, 3, padding=1, multiplier=mult, scheme=amgrad.lut2d()),
                            torch.nn.Flatten(), ApproxLinear(3 * 36, 4, mult, amgrad.lut1d()))
    buf.seek(0)
    b.load_state_dict(torch.load(buf))
    b.eval()
    assert torch.equal(a(x), b(x))


def test_pickle_and_deepcopy():
    import copy
    torch.manual_seed(0)
    mult = amgrad.models.drum(4, bits=8)
    model = torch.nn.Sequential(ApproxConv2d(1, 2, 3, multiplier=mult, scheme=amgrad.lut1d()),
                                torch.nn.Flatten(), ApproxLinear(2 * 16, 3, mult, amgrad.lut2d()))
    x = torch.randn(2, 1, 6, 6)
    model(x)
    model.eval()
    twin = copy.deepcopy(model)
    assert twin[0].multiplier is mult and torch.equal(twin(x), model(x))
    buf = io.BytesIO()
    torch.save(model, buf)                                             # the whole module, pickled
    buf.seek(0)
    loaded = torch.load(buf)
    assert loaded[2].multiplier == mult and loaded[2].scheme == amgrad.lut2d()
    assert torch.equal(loaded(x), model(x))


@pytest.mark.parametrize("kind", ["linear", "conv2d"])
def test_same_recipe_as_the_cpp_modules(kind):
    """The Python modules and amgrad::nn::ApproxLinear / ApproxConv2d (C++, through the binding):
    the same outputs bit for bit and the same activation_range over training batches (EMA) and
    eval batches (frozen)."""
    torch.manual_seed(3)
    mult = amgrad.models.bam(6, 2, bits=8)
    if kind == "linear":
        py = ApproxLinear(20, 7, mult, amgrad.lut2d())
        xs = [torch.randn(5, 20) * s for s in (1.0, 2.0, 0.5, 3.0)]
        args = (1, 0, 1)
    else:
        py = ApproxConv2d(3, 4, 3, stride=2, padding=1, dilation=1, multiplier=mult, scheme=amgrad.lut2d())
        xs = [torch.randn(2, 3, 9, 9) * s for s in (1.0, 2.0, 0.5, 3.0)]
        args = (2, 1, 1)
    modes = [True, True, True, False]
    ys, cpp_range = _C.cpp_module_run(py.backend, py.weight.detach(), py.bias.detach(), xs, modes, *args)
    for x, mode, y in zip(xs, modes, ys):
        py.train(mode)
        with torch.no_grad():
            assert torch.equal(py(x), y)
    assert torch.equal(py.activation_range, cpp_range)
