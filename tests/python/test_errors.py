"""Bad input raises amgrad.Error with the C++ message."""
import gzip

import pytest
import torch

import amgrad


@pytest.fixture
def layer():
    return amgrad.nn.ApproxLinear(6, 3, amgrad.models.drum(4), amgrad.lut2d())


def test_error_is_a_runtime_error():
    assert issubclass(amgrad.Error, RuntimeError)


def test_wrong_dtype(layer):
    with pytest.raises(amgrad.Error, match="the input is Double, but the amgrad modules take float32"):
        layer(torch.randn(2, 6, dtype=torch.float64))


def test_wrong_device(layer):
    # A meta tensor: memory the host cannot read, refused before any read.
    with pytest.raises(amgrad.Error, match="the input is on meta, but the amgrad modules run on the CPU or on CUDA"):
        layer(torch.randn(2, 6, device="meta"))
    conv = amgrad.nn.ApproxConv2d(2, 3, 3, multiplier=amgrad.models.exact())
    with pytest.raises(amgrad.Error, match="is on meta"):
        conv(torch.randn(1, 2, 5, 5, device="meta"))
    assert isinstance(amgrad.has_device_path(), bool)
    if torch.cuda.is_available() and not amgrad.has_device_path():
        with pytest.raises(amgrad.Error, match="is on cuda:0, but this build of amgrad has no CUDA path"):
            layer.cuda()(torch.randn(2, 6, device="cuda"))


@pytest.mark.skipif(not (torch.cuda.is_available() and amgrad.has_device_path()),
                    reason="needs a GPU and amgrad built with AMGRAD_ENABLE_CUDA")
def test_cuda_tensors_match_the_cpu_bit_for_bit():
    torch.manual_seed(0)
    cpu = amgrad.nn.ApproxConv2d(3, 4, 3, padding=1, multiplier=amgrad.models.drum(4),
                                 scheme=amgrad.lut2d())
    gpu = amgrad.nn.ApproxConv2d(3, 4, 3, padding=1, multiplier=amgrad.models.drum(4),
                                 scheme=amgrad.lut2d())
    gpu.load_state_dict(cpu.state_dict())
    gpu.cuda()
    x = torch.randn(2, 3, 8, 8)
    xg = x.cuda().requires_grad_()
    x.requires_grad_()
    y, yg = cpu(x), gpu(xg)
    assert yg.is_cuda and torch.equal(y, yg.cpu())
    dy = torch.randn_like(y)
    y.backward(dy)
    yg.backward(dy.cuda())
    assert torch.equal(x.grad, xg.grad.cpu())
    assert torch.equal(cpu.weight.grad, gpu.weight.grad.cpu())
    assert torch.equal(cpu.activation_range, gpu.activation_range.cpu())


def test_mismatched_shapes(layer):
    with pytest.raises(amgrad.Error, match=r"input \[2, 5\] does not fit weight \[3, 6\]"):
        layer(torch.randn(2, 5))
    conv = amgrad.nn.ApproxConv2d(2, 3, 7, multiplier=amgrad.models.exact())
    with pytest.raises(amgrad.Error, match="kernel does not fit the padded 5x5 input"):
        conv(torch.randn(1, 2, 5, 5))
    with pytest.raises(amgrad.Error, match="expected NCHW with C = 2"):
        conv(torch.randn(1, 3, 9, 9))


def test_bad_table_files(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3\n4 5\n")
    with pytest.raises(amgrad.Error, match="bad.txt"):
        amgrad.Multiplier.read(bad)
    truncated = tmp_path / "short.txt.gz"
    amgrad.models.exact(bits=4).write(tmp_path / "full.txt", "date")
    data = (tmp_path / "full.txt").read_bytes()
    truncated.write_bytes(gzip.compress(data[: len(data) // 2]))
    with pytest.raises(amgrad.Error, match="short.txt.gz"):
        amgrad.Multiplier.read(truncated)
    with pytest.raises(amgrad.Error):
        amgrad.Multiplier.read(tmp_path / "missing.txt")
    with pytest.raises(amgrad.Error, match="unknown table format 'nope'"):
        amgrad.Multiplier.read(bad, format="nope")


def test_bad_specs_and_schemes():
    with pytest.raises(amgrad.Error, match="unknown model 'nope'"):
        amgrad.multiplier("nope")
    with pytest.raises(amgrad.Error, match="column count k = 40 is out of range"):
        amgrad.models.truncated(40)
    with pytest.raises(amgrad.Error, match="model etm has no signed definition"):
        amgrad.models.etm(3, signed=True)
    with pytest.raises(amgrad.Error, match="bit width = 9 is out of range"):
        amgrad.models.exact(bits=9)
    with pytest.raises(amgrad.Error, match="unknown gradient scheme 'lut3d'"):
        amgrad.nn.ApproxLinear(2, 2, amgrad.models.exact(), "lut3d")
    with pytest.raises(amgrad.Error, match="half window size 40 does not fit a u6 table"):
        amgrad.nn.ApproxLinear(2, 2, amgrad.models.exact(bits=6), amgrad.lut2d(hws=40))
    with pytest.raises(amgrad.Error, match="unknown rate rule"):
        amgrad.lut.gradients(amgrad.models.exact(), amgrad.lut1d(rule="x"))
    with pytest.raises(amgrad.Error, match="expected an integer tensor"):
        amgrad.Multiplier.from_tensor(torch.zeros(4, 4))
    with pytest.raises(amgrad.Error, match="not a power of two"):
        amgrad.Multiplier.from_tensor(torch.zeros(5, 5, dtype=torch.int32))


def test_nan_and_eval_before_calibration(layer):
    with pytest.raises(amgrad.Error, match="NaN"):
        x = torch.randn(2, 6)
        layer.eval()
        layer.activation_range.copy_(torch.tensor([-1.0, 1.0, 1.0]))
        x[0, 1] = float("nan")
        layer(x)
    fresh = amgrad.nn.ApproxLinear(6, 3, amgrad.models.exact()).eval()
    with pytest.raises(amgrad.Error, match="before any training-mode batch"):
        fresh(torch.randn(2, 6))
