"""Data-parallel retraining with torch.distributed (gloo, 2 processes on localhost): 2 ranks x half
batch give the weights of 1 rank x full batch after a few SGD steps. The layers all-reduce their
activation range (sync_range, on by default), so every rank quantizes with the full batch's
range; DDP averages the gradients. Tolerance: 2e-5 absolute on the weights after 3 steps (float
summation order differs between the two runs: the dW GEMM sums over half batches)."""
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import amgrad

STEPS, BATCH = 3, 16


def make_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 5))
    return amgrad.nn.convert(model, amgrad.models.drum(4, bits=8), amgrad.lut2d())


def data():
    g = torch.Generator().manual_seed(1)
    return ([torch.randn(BATCH, 1, 8, 8, generator=g) for _ in range(STEPS)],
            [torch.randint(0, 5, (BATCH,), generator=g) for _ in range(STEPS)])


def train(model, xs, ys):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in zip(xs, ys):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    model = nn.parallel.DistributedDataParallel(make_model())
    xs, ys = data()
    half = BATCH // world
    train(model, [x[rank * half:(rank + 1) * half] for x in xs], [y[rank * half:(rank + 1) * half] for y in ys])
    if rank == 0:
        torch.save(model.module.state_dict(), out)
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_equal_one_rank(tmp_path):
    single = make_model()
    train(single, *data())
    out = tmp_path / "ddp.pt"
    mp.spawn(worker, args=(2, free_port(), str(out)), nprocs=2, join=True)
    ddp = torch.load(out)
    moved = 0.0
    for name, value in single.state_dict().items():
        assert torch.allclose(ddp[name], value, rtol=0, atol=2e-5), (name, (ddp[name] - value).abs().max())
        moved = max(moved, float((value - make_model().state_dict()[name]).abs().max()))
    assert moved > 1e-3  # the weights did move
