"""Multipliers, schemes, tables, metrics and gradient tables as Python objects."""
import pytest
import torch

import amgrad


def test_models_come_from_the_builtin_list():
    listed = amgrad.builtin_models()
    assert [name for name, _, _ in listed] == sorted(vars(amgrad.models), key=[n for n, _, _ in listed].index)
    for name, params, signed in listed:
        factory = getattr(amgrad.models, name)
        assert factory.parameters == tuple(params) and factory.supports_signed == signed
    assert set(amgrad.builtin_schemes()) == {"ste", "lut1d", "lut2d"}


@pytest.mark.parametrize("spec,bits,signed", [("exact", 8, False), ("exact", 4, True),
                                              ("drum:3", 6, False), ("bam:4,2", 8, True),
                                              ("truncated:6", 8, False), ("etm:3", 5, False),
                                              ("perforated:1,2", 7, False), ("mitchell", 3, True),
                                              ("kulkarni", 8, False)])
def test_every_model_with_its_parameters(spec, bits, signed):
    name, _, rest = spec.partition(":")
    args = [int(v) for v in rest.split(",")] if rest else []
    m = getattr(amgrad.models, name)(*args, bits=bits, signed=signed)
    assert m == amgrad.multiplier(spec, bits=bits, signed=signed)
    assert (m.bits, m.signed) == (bits, signed)
    t = m.table
    assert t.shape == (1 << bits, 1 << bits) and t.dtype == torch.int32


def test_keyword_parameters_and_exact_values():
    m = amgrad.models.bam(hbl=0, vbl=0, bits=4)
    v = torch.arange(16)
    assert torch.equal(m.table, (v[:, None] * v[None, :]).to(torch.int32))
    s = amgrad.models.exact(bits=3, signed=True).table
    vals = torch.arange(-4, 4)
    assert torch.equal(s, (vals[:, None] * vals[None, :]).to(torch.int32))
    with pytest.raises(TypeError):
        amgrad.models.drum(bits=8)


@pytest.mark.parametrize("fmt", ["date", "approxtorch", "tfapprox"])
def test_table_files_round_trip(tmp_path, fmt):
    m = amgrad.models.drum(3, bits=8)
    path = tmp_path / f"drum3.{fmt}"
    m.write(path, fmt)
    back = amgrad.Multiplier.read(path)             # format detected from the content
    assert back == m and torch.equal(back.table, m.table)
    assert amgrad.Multiplier.read(path, format=fmt, bits=8) == m


def test_table_from_tensor():
    t = amgrad.models.mitchell(bits=6, signed=True).table
    m = amgrad.Multiplier.from_tensor(t, signed=True)
    assert (m.bits, m.signed) == (6, True) and torch.equal(m.table, t)
    assert m == amgrad.models.mitchell(bits=6, signed=True)


def test_info_returns_tensors():
    info = amgrad.lut.info(amgrad.models.exact(bits=8))
    assert info["bits"] == 8 and info["pairs"] == 65536
    assert float(info["med"]) == 0 and float(info["error_rate"]) == 0
    d = amgrad.lut.info(amgrad.models.truncated(8, bits=8))
    assert isinstance(d["nmed"], torch.Tensor) and d["nmed"].dtype == torch.float64
    assert float(d["nmed"]) > 0 and float(d["wce"]) > 0 and float(d["bias"]) < 0


def test_gradient_tables():
    m = amgrad.models.drum(4, bits=6)
    da, db = amgrad.lut.gradients(m, amgrad.ste())
    v = torch.arange(64, dtype=torch.float32)
    assert torch.equal(da, v[None, :].expand(64, 64)) and torch.equal(db, v[:, None].expand(64, 64))
    tables = {}
    for scheme in [amgrad.lut1d(), amgrad.lut1d(rule="secant"), amgrad.lut1d(rule="least_squares"),
                   amgrad.lut1d(rule="lut2d_mean"), amgrad.lut2d(), amgrad.lut2d(hws=2),
                   amgrad.lut2d(boundary="published")]:
        da, db = amgrad.lut.gradients(m, scheme)
        assert da.shape == (64, 64) and da.dtype == torch.float32 and torch.isfinite(da).all()
        tables[scheme] = da
    # LUT-1D: dAM/da depends on b only.
    assert torch.equal(tables[amgrad.lut1d()], tables[amgrad.lut1d()][0:1].expand(64, 64))
    assert not torch.equal(tables[amgrad.lut2d()], tables[amgrad.lut2d(hws=2)])
    assert not torch.equal(tables[amgrad.lut1d()], tables[amgrad.lut1d(rule="least_squares")])
