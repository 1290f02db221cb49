"""amgrad.lut.propose_hws and the low-rank LUT-2D scheme (amgrad.lut2d_lowrank, amgrad.lut.low_rank):
the C++ amgrad::propose_hws and lut2d_lowrank through the binding, checked against their own
definitions (the ladder's bound, the truncated SVD's error from its singular values) and LUT-2D."""
import pickle

import pytest
import torch

import amgrad
from conftest import has_low_rank


low_rank_only = pytest.mark.skipif(not has_low_rank(), reason="amgrad built without LAPACKE")


def test_propose_hws_is_the_smallest_smooth_window_of_the_ladder():
    mult = amgrad.multiplier("truncated:6", bits=7)
    p = amgrad.lut.propose_hws(mult)
    ladder = p["ladder"]
    hws = [h for h, *_ in ladder]
    assert hws == [1 << i for i in range(len(hws))] and len(hws) >= 5   # 1, 2, 4, ... that fit
    smooth = [h for h, rho, _, _ in ladder if rho <= 1 / 16]
    assert p["hws"] == smooth[0]
    assert p["hws_a"] >= 1 and p["hws_b"] >= 1
    assert amgrad.lut.propose_hws(mult, max_roughness=1.0)["hws"] == 1
    assert amgrad.lut.propose_hws(mult, max_roughness=1e-9)["hws"] == ladder[-1][0]
    assert amgrad.lut.propose_hws(amgrad.multiplier("exact", bits=6))["hws"] == 1
    with pytest.raises(amgrad.Error, match="max_roughness must be positive"):
        amgrad.lut.propose_hws(mult, max_roughness=0.0)


def frobenius_error(g, ref):
    return float((g.double() - ref.double()).norm() / ref.double().norm())


@low_rank_only
@pytest.mark.parametrize("spec,bits,signed", [("truncated:6", 7, False), ("mitchell", 6, True)])
def test_low_rank_error_follows_the_singular_values(spec, bits, signed):
    mult = amgrad.multiplier(spec, bits=bits, signed=signed)
    ga, gb = amgrad.lut.gradients(mult, amgrad.lut2d(hws=4))
    for rank in (1, 3):
        scheme = amgrad.lut2d_lowrank(hws=4, rank=rank)
        fa, fb = amgrad.lut.low_rank(mult, scheme)
        assert fa["rank"] == rank and fb["rank"] == rank
        sv = fa["singular_values"]
        tail = float((sv[rank:] ** 2).sum().sqrt() / (sv ** 2).sum().sqrt())
        assert fa["relative_error"][rank].item() == pytest.approx(tail, rel=1e-9, abs=1e-12)
        la, lb = amgrad.lut.gradients(mult, scheme)
        assert frobenius_error(la, ga) == pytest.approx(fa["relative_error"][rank].item(), rel=1e-3, abs=1e-6)
        assert frobenius_error(lb, gb) == pytest.approx(fb["relative_error"][rank].item(), rel=1e-3, abs=1e-6)


@low_rank_only
def test_full_rank_is_lut2d_and_the_tolerance_picks_the_smallest_rank():
    mult = amgrad.multiplier("truncated:6", bits=7)
    ga, gb = amgrad.lut.gradients(mult, amgrad.lut2d(hws=2, boundary="published"))
    full = amgrad.lut2d_lowrank(hws=2, boundary="published", rank=128)
    la, lb = amgrad.lut.gradients(mult, full)
    assert torch.allclose(la, ga, rtol=1e-5, atol=1e-3) and torch.allclose(lb, gb, rtol=1e-5, atol=1e-3)
    for tolerance in (0.1, 0.01):
        fa, _ = amgrad.lut.low_rank(mult, amgrad.lut2d_lowrank(hws=2, tolerance=tolerance))
        err = fa["relative_error"]
        assert err[fa["rank"]] <= tolerance < err[fa["rank"] - 1]


@low_rank_only
def test_separable_table_is_rank_one():
    mult = amgrad.multiplier("drum:3", bits=8)   # DRUM is d(a) d(b): its LUT-2D tables are rank 1
    fa, fb = amgrad.lut.low_rank(mult, amgrad.lut2d_lowrank(hws=16, tolerance=1e-5))
    assert fa["rank"] == 1 and fb["rank"] == 1


@low_rank_only
def test_modules_and_converter_take_the_scheme():
    torch.manual_seed(3)
    mult = amgrad.multiplier("truncated:5", bits=8)
    scheme = amgrad.lut2d_lowrank(hws=8, rank=2)
    model = torch.nn.Sequential(torch.nn.Linear(12, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    amgrad.nn.convert(model, mult, scheme)
    x = torch.randn(5, 12)
    model(x).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    again = pickle.loads(pickle.dumps(model))
    assert again[0].scheme == scheme
    assert torch.equal(again.eval()(x), model.eval()(x))


@low_rank_only
def test_bad_low_rank_options_raise_the_library_error():
    mult = amgrad.multiplier("exact", bits=6)
    with pytest.raises(amgrad.Error, match="must be >= 0"):
        mult.backend(amgrad.lut2d_lowrank(rank=-1))
    with pytest.raises(amgrad.Error, match="must be >= 0"):
        amgrad.lut.gradients(mult, amgrad.lut2d_lowrank(tolerance=float("nan")))
    with pytest.raises(ValueError, match="needs an lut2d_lowrank scheme"):
        amgrad.lut.low_rank(mult, amgrad.lut2d())
