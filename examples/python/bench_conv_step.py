"""Per-step time of an ApproxConv2d training step (forward, backward, SGD) from Python vs the same
step from C++ (amgrad::nn::ApproxConv2d, timed inside the extension), in the same process.

    PYTHONPATH=build/default/python OMP_NUM_THREADS=1 python3 examples/python/bench_conv_step.py
"""
import argparse
import time

import torch

import amgrad
from amgrad import _C

p = argparse.ArgumentParser()
p.add_argument("--multiplier", default="mitchell")
p.add_argument("--scheme", default="lut2d")
p.add_argument("--steps", type=int, default=30)
p.add_argument("--repeats", type=int, default=3)
args = p.parse_args()

SHAPES = [  # batch, cin, cout, kernel, hw, padding: LeNet-5's convolutions at batch 64, and a wider one
    (64, 1, 6, 5, 28, 2), (64, 6, 16, 5, 14, 0), (32, 16, 32, 3, 16, 1)]
mult = amgrad.multiplier(args.multiplier, bits=8)
scheme = amgrad.Scheme(args.scheme)
backend = mult.backend(scheme)


def python_step(batch, cin, cout, kernel, hw, padding, steps, warmup=2):
    torch.manual_seed(0)
    conv = amgrad.nn.ApproxConv2d(cin, cout, kernel, padding=padding, multiplier=mult, scheme=scheme)
    opt = torch.optim.SGD(conv.parameters(), lr=0.01)
    x = torch.randn(batch, cin, hw, hw)

    def step():
        opt.zero_grad()
        conv(x).square().mean().backward()
        opt.step()

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / steps


print(f"{mult.label}/u8/{args.scheme}, torch threads {torch.get_num_threads()}, best of {args.repeats}")
print("| shape (N, Cin, Cout, k, HxW, pad) | C++ step (ms) | Python step (ms) | Python / C++ |")
print("|---|---|---|---|")
for shape in SHAPES:
    cpp, py = [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        cpp.append(_C.bench_cpp_conv2d_step(backend, *shape, steps=args.steps))
        py.append(python_step(*shape, args.steps))
    c, q = min(cpp), min(py)
    print(f"| {shape} | {1e3 * c:.2f} | {1e3 * q:.2f} | {q / c:.3f} |")
