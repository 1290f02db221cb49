"""amgrad.nn.convert: swaps layers in place, keeps the weights, per-layer multipliers."""
import pytest
import torch
from torch import nn

import amgrad
from amgrad.nn import ApproxConv2d, ApproxLinear


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(4, 6, (3, 2), stride=(2, 1), bias=False), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(6 * 3 * 4, 10), nn.ReLU(), nn.Linear(10, 3))

    def forward(self, x):
        return self.head(self.features(x))


def fake_quant_reference(layer, x):
    """The float layer with torch's fake-quant at amgrad's params (exact multiplier)."""
    bits = layer.multiplier.bits
    xs, xz = layer.backend.activation_params(float(layer.activation_range[0]), float(layer.activation_range[1]))
    ws, wz = layer.backend.weight_params(layer.weight)
    xq = torch.fake_quantize_per_tensor_affine(x, float(xs[0]), int(xz[0]), 0, (1 << bits) - 1)
    wq = torch.fake_quantize_per_channel_affine(layer.weight, ws, wz.int(), 0, 0, (1 << bits) - 1)
    if isinstance(layer, ApproxLinear):
        return nn.functional.linear(xq, wq, layer.bias)
    return nn.functional.conv2d(xq, wq, layer.bias, layer.stride, layer.padding, layer.dilation, layer.groups)


def test_convert_keeps_weights_and_matches_fake_quant():
    torch.manual_seed(0)
    net = Net()
    params = {n: p for n, p in net.named_parameters()}
    x = torch.rand(4, 1, 7, 5)
    float_out = net(x)
    out = amgrad.nn.convert(net, amgrad.models.exact(bits=8), amgrad.ste())
    assert out is net
    assert isinstance(net.features[0], ApproxConv2d) and isinstance(net.head[3], ApproxLinear)
    for n, p in net.named_parameters():
        assert p is params[n]                                          # the same Parameters
    inputs, outputs = {}, {}
    def hook(name):
        def record(module, args, output):
            inputs[name], outputs[name] = args[0], output
        return record

    for name, m in net.named_modules():
        if isinstance(m, (ApproxConv2d, ApproxLinear)):
            m.register_forward_hook(hook(name))
    y = net(x)
    assert len(inputs) == 4
    for name, m in net.named_modules():
        if name in inputs:
            ref = fake_quant_reference(m, inputs[name])
            assert torch.allclose(outputs[name], ref, rtol=1e-5, atol=1e-5), name
    # And close to the float model: 8-bit quantization only.
    assert (y - float_out).abs().max() < 0.05 * float_out.abs().max() + 1e-3


def test_per_layer_multipliers_and_skip():
    net = Net()
    drum, mitchell = amgrad.models.drum(4), amgrad.models.mitchell(bits=7)
    amgrad.nn.convert(net, {"features.*": drum, "head.1": mitchell}, amgrad.lut2d(), skip=["features.2"])
    assert net.features[0].multiplier is drum and net.head[1].multiplier is mitchell
    assert isinstance(net.features[2], nn.Conv2d)                      # skipped
    assert isinstance(net.head[3], nn.Linear)                          # no pattern matched
    net2 = Net()
    amgrad.nn.convert(net2, lambda name, m: drum if isinstance(m, nn.Linear) else None,
                      scheme=lambda name, m: amgrad.lut1d(), layers=(nn.Linear,))
    assert isinstance(net2.head[1], ApproxLinear) and net2.head[1].scheme == amgrad.lut1d()
    assert isinstance(net2.features[0], nn.Conv2d)
    net2(torch.rand(2, 1, 7, 5)).sum().backward()
    assert amgrad.nn.convert(nn.Linear(3, 2), "exact").__class__ is ApproxLinear


def test_convert_refuses_other_layers():
    with pytest.raises(amgrad.Error, match="only nn.Linear and nn.Conv2d"):
        amgrad.nn.convert(Net(), amgrad.models.exact(), layers=(nn.Conv1d,))


def test_leading_shapes_and_attention_are_left_alone():
    model = nn.Sequential(nn.Linear(8, 8), nn.TransformerEncoderLayer(8, 2, 16, batch_first=True))
    amgrad.nn.convert(model, amgrad.models.drum(4))
    layer = model[1]
    assert isinstance(model[0], ApproxLinear) and isinstance(layer.linear1, ApproxLinear)
    assert type(layer.self_attn.out_proj) is not ApproxLinear          # MHA never calls it
    y = model(torch.randn(2, 5, 8))                                    # [B, T, C] through ApproxLinear
    assert y.shape == (2, 5, 8)
    y.sum().backward()
