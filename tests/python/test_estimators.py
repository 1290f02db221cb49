"""Quantizer estimators through the Python modules and the amgrad.quant binding."""
import math
import pickle

import pytest
import torch

import amgrad
from amgrad import quant
from amgrad.nn import ApproxConv2d, ApproxLinear

ESTIMATORS = [quant.ste(), quant.pwl(), quant.htge(2.5), quant.mad()]


def reference_derivative(e, v, lo, hi, z):
    """Q̂'(v), float64, from the papers' formulas written here (not the library's)."""
    window = (v >= lo - 0.5) & (v <= hi + 0.5)
    one = torch.ones_like(v)
    if e.name == "ste":
        return one
    if e.name == "pwl":
        return window.double()
    if e.name == "htge":
        t = e.sharpness
        d = 0.5 * t / torch.cosh(t * (v - torch.floor(v) - 0.5)) ** 2
        return torch.where(window, d, 0 * d)
    edge = torch.where(v > hi, torch.full_like(v, hi + 0.5), torch.full_like(v, lo - 0.5))
    return torch.where(window, one, (edge - z).abs() / (v - z).abs())  # mad


def positions(t, scale, zero_point):
    """v = t (1/s) + Z per channel (t's first dimension) where scale has one per channel, in
    float32 as the quantizer computes it (Q̂' of htge moves by ~t² per unit of v), then float64."""
    shape = [-1] + [1] * (t.dim() - 1)
    s = scale.float().reshape(shape) if scale.numel() > 1 else scale.float()
    z = zero_point.float().reshape(shape) if zero_point.numel() > 1 else zero_point.float()
    return (t.detach().float() * (1 / s) + z).double(), z.double()


def run(make, x1, x2, dy):
    """A calibration batch, then x2 (wider: the EMA range clips some of it) forward and backward."""
    m = make()
    with torch.no_grad():
        m(x1)
    x = x2.clone().requires_grad_()
    y = m(x)
    y.backward(dy)
    lo, hi, _ = m.activation_range.tolist()
    return y.detach(), x.grad, m.weight.grad, m.backend.activation_params(lo, hi), \
        m.backend.weight_params(m.weight.detach())


MULT = amgrad.multiplier("truncated:9")  # 8-bit unsigned, large error


@pytest.mark.parametrize("kind", ["linear", "conv2d"])
def test_backward_is_estimator_times_appmult_path(kind):
    torch.manual_seed(3)
    if kind == "linear":
        x1, x2 = torch.rand(16, 24), torch.rand(16, 24) * 3 - 1
        def make(w, a):
            torch.manual_seed(5)
            return ApproxLinear(24, 10, MULT, amgrad.lut2d(hws=8), weight_estimator=w,
                                activation_estimator=a)
    else:
        x1, x2 = torch.rand(2, 2, 7, 7), torch.rand(2, 2, 7, 7) * 3 - 1
        def make(w, a):
            torch.manual_seed(6)
            return ApproxConv2d(2, 4, 3, padding=1, multiplier=MULT, scheme=amgrad.lut2d(hws=8),
                                weight_estimator=w, activation_estimator=a)
    y0 = make(None, None)(x1)
    dy = torch.randn_like(y0)
    y_b, dx_b, dw_b, _, _ = run(lambda: make(quant.ste(), quant.ste()), x1, x2, dy)
    lo, hi = 0.0, 255.0
    clipped = None
    for e in ESTIMATORS:
        y, dx, dw, (xs, xz), (ws, wz) = run(lambda: make(e, e), x1, x2, dy)
        assert torch.equal(y, y_b), e                      # the forward does not change
        vw, zw = positions(make(e, e).weight, ws, wz)  # the same seed: the weights of the run
        vx, zx = positions(x2, xs, xz)
        dref_x = reference_derivative(e, vx, lo, hi, zx)
        # rtol: the library's v may round differently in its last bit (a fused multiply-add;
        # ulp 1.5e-5 at 255), and htge's Q̂' moves by a relative 2t per unit of v.
        tol = dict(rtol=2e-4, atol=1e-9)
        torch.testing.assert_close(dx.double(), dx_b.double() * dref_x, **tol)
        torch.testing.assert_close(dw.double(), dw_b.double() * reference_derivative(e, vw, lo, hi, zw),
                                   **tol)
        if e.name == "pwl":
            clipped = dref_x == 0
            # ste and pwl differ exactly where the activation quantizer clipped (elsewhere by
            # float rounding at most: pwl multiplies by 1/s, the others divide by s).
            assert torch.equal((dx - dx_b).abs() > 1e-6 * dx_b.abs(), clipped & (dx_b != 0))
            torch.testing.assert_close(dw, dw_b, rtol=1e-6, atol=0)  # nothing clipped (min/max)
    assert clipped.sum() > 0


def test_default_is_pwl_and_unchanged():
    torch.manual_seed(4)
    x1, x2 = torch.rand(8, 12), torch.rand(8, 12) * 3 - 1
    dy = torch.randn(8, 5)
    def make(**kw):
        torch.manual_seed(7)
        return ApproxLinear(12, 5, MULT, amgrad.lut2d(), **kw)
    base = run(make, x1, x2, dy)
    named = run(lambda: make(weight_estimator=quant.pwl(), activation_estimator=quant.pwl()),
                x1, x2, dy)
    for a, b in zip(base[:3], named[:3]):
        assert torch.equal(a, b)
    # The C++ module (amgrad::nn::ApproxLinear, default options) gives the same forward.
    m = make()
    ys, _ = amgrad._C.cpp_module_run(m.backend, m.weight.detach(), m.bias.detach(), [x1, x2],
                                     [True, True], 1, 0, 1)
    assert torch.equal(ys[1], base[0])
    assert make().weight_estimator == quant.pwl() and make().activation_estimator == quant.pwl()


def test_convert_takes_estimators_per_layer():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 3))
    amgrad.nn.convert(net, MULT, amgrad.lut2d(), weight_estimator={"0": quant.htge(3.0)},
                      activation_estimator=quant.ste())
    assert net[0].weight_estimator == quant.htge(3.0) and net[2].weight_estimator == quant.pwl()
    assert net[0].activation_estimator == quant.ste() == net[2].activation_estimator
    net(torch.rand(2, 1, 4, 4)).sum().backward()
    assert "htge(t=3)" in repr(net[0])
    clone = pickle.loads(pickle.dumps(net))
    assert clone[0].weight_estimator == quant.htge(3.0)


def test_bad_estimators_raise_with_the_cpp_message():
    for t in (0.0, -1.0, 40.5, float("nan")):
        with pytest.raises(amgrad.Error, match=r"sharpness t must be in \(0, 40\]"):
            quant.htge(t)
    with pytest.raises(amgrad.Error, match="unknown quantizer estimator 'nope'"):
        quant.Estimator("nope")
    with pytest.raises(amgrad.Error, match="only htge takes a sharpness"):
        quant.Estimator("pwl", 2.0)
    with pytest.raises(amgrad.Error, match="htge needs its sharpness"):
        quant.Estimator("htge")
    with pytest.raises(amgrad.Error, match="must be an amgrad.quant estimator"):
        ApproxLinear(4, 2, MULT, weight_estimator="htge")
    with pytest.raises(amgrad.Error, match="needs lo < hi"):
        quant.ste().alpha(1, 1)


def test_ste_alpha_one_and_remap_identity():
    v = torch.linspace(-4, 3, 71, dtype=torch.float64)
    for e in (quant.ste(), quant.pwl(), quant.mad()):
        a, err = e.alpha(-2, 1)
        assert a == pytest.approx(1.0, abs=1e-13) and err < 1e-12
    for e in (quant.ste(), quant.pwl()):
        torch.testing.assert_close(e.remap_code(v, -2, 1), v, rtol=0, atol=1e-13)
    w = torch.randn(3, 5)
    assert torch.equal(quant.ste().remap(w, torch.tensor([0.1, 0.2, 0.3]), torch.zeros(3), 4), w)
    assert quant.ste().derivative(v, -2, 1).eq(1).all()


@pytest.mark.parametrize("t", [0.5, 2.0, 4.49, 5.5, 10.0])
def test_binding_equals_closed_forms(t):
    e = quant.htge(t)
    a, err = e.alpha(-2, 1)
    assert a == pytest.approx(t * t / (t + math.sinh(t)), rel=1e-10, abs=1e-12)
    assert quant.alpha(e, -8, 7) == pytest.approx(a, rel=1e-10)
    v = torch.linspace(-2.5, 1.5, 81, dtype=torch.float64)
    b = torch.floor(v) + 0.5  # the tanh's centre: v - b in [-1/2, 1/2)
    d = v - b
    m = b + a / t * (d + torch.sinh(2 * t * d) / (2 * t))
    torch.testing.assert_close(e.remap_code(v, -2, 1), m, rtol=0, atol=1e-9)
    c = torch.floor(v) + 0.5
    torch.testing.assert_close(e.derivative(v, -2, 1), 0.5 * t / torch.cosh(t * (v - c)) ** 2,
                               rtol=1e-14, atol=0)
    torch.testing.assert_close(e.surrogate(v, -2, 1), c + 0.5 * torch.tanh(t * (v - c)),
                               rtol=1e-14, atol=1e-15)
    assert e.derivative(torch.tensor([1.6, -2.6]), -2, 1).eq(0).all()  # clipped outside
    # In weight units, per channel: s (M(w/s + Z) - Z).
    w = torch.randn(2, 6) * 0.3
    s, z = torch.tensor([0.2, 0.15]), torch.tensor([0, 0])
    got = e.remap(w, s, z, 2, True)
    want = s[:, None] * e.remap_code(w.double() / s[:, None].double(), -2, 1).float()
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


def test_mad_and_metrics_on_hand_values():
    e = quant.mad()
    # Window [-2.5, 1.5], Z = 0: outside, c / |v| with c the distance from Z to that edge.
    d = e.derivative(torch.tensor([0.3, 3.0, -5.0]), -2, 1, zero_point=0.0)
    torch.testing.assert_close(d, torch.tensor([1.0, 1.5 / 3.0, 2.5 / 5.0], dtype=torch.float64))
    a, b = torch.tensor([0.0, 0.1, 0.2, 0.3]), torch.tensor([0.0, 0.0, 0.2, 0.5])
    assert quant.alignment_error(a, b, 2.0) == pytest.approx((0.1 + 0.2) / 4 / 2.0)
    # Per channel over s (hi - lo): 2-bit signed, range 3 s.
    aa, bb = a.reshape(2, 2), b.reshape(2, 2)
    s = torch.tensor([0.1, 0.2])
    assert quant.alignment_error(aa, bb, scale=s, bits=2) == \
        pytest.approx((0.1 / 0.3 + 0.2 / 0.6) / 4, rel=1e-6)
    # Codes: round(w / s) -> [0, 1], [1, 2→1 clamped]; b: [0, 0], [1, 2→1].
    assert quant.weight_agreement(aa, bb, s, 0, bits=2) == pytest.approx(0.75)
    with pytest.raises(amgrad.Error, match="must match"):
        quant.alignment_error(a, b[:3], 1.0)
