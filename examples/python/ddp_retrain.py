"""Data-parallel retraining on an AppMult with torch.distributed (DistributedDataParallel).

On one machine (2 processes, gloo, localhost):
    PYTHONPATH=build/default/python python3 examples/python/ddp_retrain.py --nprocs 2
On several machines, start it with torchrun on each (it reads RANK, WORLD_SIZE, MASTER_ADDR...):
    torchrun --nnodes 2 --nproc-per-node 1 --node-rank <0|1> --master-addr <host0> --master-port 29500 \
        examples/python/ddp_retrain.py
On GPUs (amgrad built with AMGRAD_ENABLE_CUDA; one GPU per process): add --device cuda, which
also picks the NCCL backend.

Each rank trains on its shard of every global batch; the approximate layers all-reduce their
activation range (sync_range=True, the default), so every rank quantizes as one process with the
whole batch would, and DDP averages the gradients."""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import amgrad


def idx(path):
    raw = gzip.open(path).read()
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3])]
    t = torch.from_numpy(np.frombuffer(raw, np.uint8, offset=4 + 4 * len(dims)).reshape(dims).copy())
    return t.float().div(255).unsqueeze(1) if len(dims) == 3 else t.long()


def run(rank, world, args):
    backend = args.backend or ("nccl" if args.device == "cuda" else "gloo")
    dist.init_process_group(backend, rank=rank, world_size=world)
    device = torch.device("cpu")
    if args.device == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
        torch.cuda.set_device(device)
    torch.set_num_threads(1)
    torch.manual_seed(0)  # the same initial weights everywhere (DDP also broadcasts rank 0's)
    x = idx(f"{args.data}/train-images-idx3-ubyte.gz")[:args.train_size]
    y = idx(f"{args.data}/train-labels-idx1-ubyte.gz")[:args.train_size]
    xte, yte = idx(f"{args.data}/t10k-images-idx3-ubyte.gz"), idx(f"{args.data}/t10k-labels-idx1-ubyte.gz")
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                          nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    amgrad.nn.convert(model, amgrad.multiplier(args.multiplier, bits=8), amgrad.lut2d())
    model.to(device)
    x, y, xte, yte = x.to(device), y.to(device), xte.to(device), yte.to(device)
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(ddp.parameters(), lr=1e-3)
    for epoch in range(args.epochs):
        t0 = time.time()
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch)).to(device)  # same on all ranks
        for batch in order.split(args.batch):
            mine = batch.chunk(world)[rank] if len(batch) >= world else batch
            opt.zero_grad()
            nn.functional.cross_entropy(ddp(x[mine]), y[mine]).backward()
            opt.step()
        if rank == 0:
            model.eval()
            with torch.no_grad():
                acc = (model(xte).argmax(1) == yte).float().mean().item()
            model.train()
            print(f"epoch {epoch + 1}: test {100 * acc:.2f}% ({time.time() - t0:.1f} s, {world} ranks)", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--multiplier", default="mitchell")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=64, help="the global batch")
    p.add_argument("--train-size", type=int, default=10000)
    p.add_argument("--nprocs", type=int, default=2, help="processes to spawn when not under torchrun")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="cuda: one GPU per process (needs amgrad.has_device_path())")
    p.add_argument("--backend", default=None, help="gloo | nccl (default: nccl on cuda, else gloo)")
    args = p.parse_args()
    if "RANK" in os.environ:  # started by torchrun
        run(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), args)
    else:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29517")
        mp.spawn(run, args=(args.nprocs, args), nprocs=args.nprocs, join=True)
