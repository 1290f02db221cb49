"""Forward: bit-exact against the C++ reference kernel (amgrad::kernel::reference::forward) through
the binding. Backward: against a float64 PyTorch implementation of the same scheme (DATE'25
Eq. 8 cross terms, the scheme's gradient tables from amgrad.lut.gradients, clipping STE)."""
import pytest
import torch
import torch.nn.functional as F

import amgrad
from amgrad import _C
from conftest import has_low_rank

CASES = [("exact", 8, False), ("drum:4", 8, False), ("mitchell", 7, True),
         ("truncated:4", 6, True), ("bam:6,2", 8, False), ("etm:3", 5, False)]
SCHEMES = [amgrad.ste(), amgrad.lut1d(), amgrad.lut1d(rule="least_squares"), amgrad.lut2d(),
           amgrad.lut2d(hws=4, boundary="published")]
if has_low_rank():  # where amgrad has LAPACKE
    SCHEMES += [amgrad.lut2d_lowrank(rank=2), amgrad.lut2d_lowrank(hws=4, boundary="published", tolerance=0.05)]


def reference_linear(mult, scheme, state, dy, bias):
    """float64 y and (dx, dw, dbias), and the tolerance the C++ result is held to."""
    xs, xz = state["x_params"]
    ws, wz = state["w_params"]
    sx, zx = float(xs[0]), int(xz[0])
    n = dy.shape[1]
    sw = (ws.expand(n) if ws.numel() == 1 else ws).double()
    zw = (wz.expand(n) if wz.numel() == 1 else wz).double()
    xc, wc = state["x_codes"].long(), state["w_codes"].long()          # [m,k], [k,n]
    vmin = -(1 << (mult.bits - 1)) if mult.signed else 0
    X, W = (xc + vmin).double(), (wc + vmin).double()
    k = xc.shape[1]
    acc = state["acc"].double()
    y = (sx * sw) * (acc - zx * W.sum(0) - zw * X.sum(1, keepdim=True) + k * zw * zx)
    if bias is not None:
        y = y + bias.double()
    da_t, db_t = (t.double() for t in amgrad.lut.gradients(mult, scheme))
    DA = da_t[xc[:, :, None], wc[None, :, :]]                          # [m,k,n]
    DB = db_t[xc[:, :, None], wc[None, :, :]]
    g = dy.double() * (sx * sw)                                        # [m,n]
    dX = torch.einsum("mn,mkn->mk", g, DA) - (g * zw).sum(1, keepdim=True)
    dW = torch.einsum("mn,mkn->kn", g, DB) - zx * g.sum(0)
    dx = torch.where(state["x_inside"], dX / sx, torch.zeros_like(dX))
    dw = torch.where(state["w_inside"], dW.t() / sw[:, None], torch.zeros_like(dW.t()))
    # Float rounding, plus LUT-2D's int16 table round(16 g): |error| <= sum |dY| / 32 (the
    # low-rank scheme's tables may run on that kernel too).
    fixed = 1.0 / 32 if scheme.name in ("lut2d", "lut2d_lowrank") else 0.0
    tol_dx = (1e-5 * torch.einsum("mn,mkn->mk", g.abs(), DA.abs() + zw.abs()) +
              fixed * g.abs().sum(1, keepdim=True)) / sx + 1e-6
    tol_dw = ((1e-5 * torch.einsum("mn,mkn->kn", g.abs(), DB.abs() + abs(zx)) +
               fixed * g.abs().sum(0)).t() / sw[:, None]) + 1e-6
    return y, (dx, dw, dy.double().sum(0)), (tol_dx, tol_dw)


def run_linear(mult, scheme, x, w, b, lo, hi, dy):
    be = mult.backend(scheme)
    x = x.clone().requires_grad_()
    w = w.clone().requires_grad_()
    b = b.clone().requires_grad_()
    y = _C.linear(x, w, b, be, lo, hi)
    y.backward(dy)
    return y.detach(), x.grad, w.grad, b.grad


@pytest.mark.parametrize("spec,bits,signed", CASES)
def test_linear_forward_bit_exact(spec, bits, signed):
    torch.manual_seed(bits)
    mult = amgrad.multiplier(spec, bits=bits, signed=signed)
    x, w, b = torch.randn(9, 37), torch.randn(5, 37), torch.randn(5)
    lo, hi = float(x.min()) * 0.8, float(x.max()) * 0.8              # some clipping
    s = _C.linear_state(mult.backend(amgrad.ste()), x, w, b, lo, hi)
    ref = _C.reference_forward(mult._table, s["x_codes"], s["w_codes"])
    assert torch.equal(s["acc"].long(), ref)                           # the integer sum, exactly
    y64, _, _ = reference_linear(mult, amgrad.ste(), s, torch.zeros(9, 5), b)
    assert torch.equal(s["y"], y64.float())                            # Eq. 8 in double, then float
    y, *_ = run_linear(mult, amgrad.ste(), x, w, b, lo, hi, torch.zeros(9, 5))
    assert torch.equal(y, s["y"])                                      # the autograd path


@pytest.mark.parametrize("scheme", SCHEMES,
                         ids=lambda s: f"{s.name}-{s.rule}-{s.hws}-{s.boundary}-r{s.rank}-{s.tolerance}")
@pytest.mark.parametrize("spec,bits,signed", CASES[1:4])
def test_linear_backward_against_float64(spec, bits, signed, scheme):
    torch.manual_seed(1)
    mult = amgrad.multiplier(spec, bits=bits, signed=signed)
    x, w, b, dy = torch.randn(8, 40), torch.randn(6, 40), torch.randn(6), torch.randn(8, 6)
    lo, hi = float(x.min()) * 0.9, float(x.max()) * 0.9
    s = _C.linear_state(mult.backend(scheme), x, w, b, lo, hi)
    _, (dx64, dw64, db64), (tol_dx, tol_dw) = reference_linear(mult, scheme, s, dy, b)
    _, dx, dw, db = run_linear(mult, scheme, x, w, b, lo, hi, dy)
    assert ((dx.double() - dx64).abs() <= tol_dx).all()
    assert ((dw.double() - dw64).abs() <= tol_dw).all()
    assert torch.allclose(db.double(), db64, atol=1e-5)
    assert (dx[~s["x_inside"]] == 0).all() and (~s["x_inside"]).any()  # the clipping STE


@pytest.mark.parametrize("scheme", [amgrad.ste(), amgrad.lut1d(), amgrad.lut2d()], ids=lambda s: s.name)
@pytest.mark.parametrize("geom", [dict(k=(3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1)),
                                  dict(k=(3, 2), stride=(2, 1), padding=(0, 2), dilation=(1, 2))])
def test_conv2d_is_the_linear_op_over_im2col(scheme, geom):
    """conv2d = linear over unfold(x): same codes (padding is the zero point), the same integer
    sums exactly; its backward is fold() of the float64 reference's."""
    torch.manual_seed(2)
    mult = amgrad.models.drum(4, bits=8)
    x, w, b = torch.randn(2, 3, 7, 8), torch.randn(4, 3, *geom["k"]), torch.randn(4)
    lo, hi = float(x.min()), float(x.max()) * 0.9
    xg = x.clone().requires_grad_()
    wg = w.clone().requires_grad_()
    y = _C.conv2d(xg, wg, b, mult.backend(scheme), lo, hi, geom["stride"], geom["padding"], geom["dilation"])
    dy = torch.randn_like(y)
    y.backward(dy)
    kw = dict(kernel_size=geom["k"], stride=geom["stride"], padding=geom["padding"], dilation=geom["dilation"])
    cols = F.unfold(x, **kw).transpose(1, 2).reshape(-1, 3 * geom["k"][0] * geom["k"][1])
    s = _C.linear_state(mult.backend(scheme), cols, w.reshape(4, -1), b, lo, hi)
    assert torch.equal(s["acc"].long(), _C.reference_forward(mult._table, s["x_codes"], s["w_codes"]))
    oh, ow = y.shape[2:]
    y_lin = s["y"].reshape(2, oh, ow, 4).permute(0, 3, 1, 2)
    assert torch.equal(y, y_lin)
    dy_rows = dy.permute(0, 2, 3, 1).reshape(-1, 4)
    _, (dcols, dw64, _), (tol_cols, tol_dw) = reference_linear(mult, scheme, s, dy_rows, b)
    fold = lambda t: F.fold(t.reshape(2, oh * ow, -1).transpose(1, 2), x.shape[2:], **kw)
    assert ((xg.grad.double() - fold(dcols)).abs() <= fold(tol_cols) + 1e-5).all()
    assert ((wg.grad.reshape(4, -1).double() - dw64).abs() <= tol_dw).all()
