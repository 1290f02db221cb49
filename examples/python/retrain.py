"""Retrain a quantized LeNet-5 on an approximate multiplier, from Python (Fashion-MNIST).

    PYTHONPATH=build/default/python python3 examples/python/retrain.py [--multiplier mitchell] [--epochs 1]

A plain PyTorch model is trained in float, converted with amgrad.nn.convert (every Conv2d and
Linear now multiplies on the AppMult, 8-bit), and retrained with LUT-2D gradients."""
import argparse, gzip, time
import numpy as np, torch
from torch import nn
import amgrad

p = argparse.ArgumentParser()
p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
p.add_argument("--multiplier", default="mitchell", help="a built-in model spec: mitchell, drum:4, bam:8,2...")
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--train-size", type=int, default=60000)
p.add_argument("--test-size", type=int, default=10000)
args = p.parse_args()
torch.manual_seed(0)

def idx(name):  # an IDX .gz file -> tensor (images scaled to [0, 1])
    raw = gzip.open(f"{args.data}/{name}.gz").read()
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3])]
    t = torch.from_numpy(np.frombuffer(raw, np.uint8, offset=4 + 4 * len(dims)).reshape(dims).copy())
    return t.float().div(255).unsqueeze(1) if len(dims) == 3 else t.long()

xtr, ytr = idx("train-images-idx3-ubyte")[:args.train_size], idx("train-labels-idx1-ubyte")[:args.train_size]
xte, yte = idx("t10k-images-idx3-ubyte")[:args.test_size], idx("t10k-labels-idx1-ubyte")[:args.test_size]

model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                      nn.Linear(84, 10))

def fit(model, epochs, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        model.train(); t0 = time.time()
        for i in torch.randperm(len(xtr)).split(64):
            opt.zero_grad(); nn.functional.cross_entropy(model(xtr[i]), ytr[i]).backward(); opt.step()
        print(f"  epoch {epoch + 1}: test {accuracy(model):.2f}% ({time.time() - t0:.1f} s)")

@torch.no_grad()
def accuracy(model):
    model.eval()
    return 100 * sum((model(x).argmax(1) == y).sum().item() for x, y in zip(xte.split(1000), yte.split(1000))) / len(xte)

print("float pretraining"); fit(model, 2, 1e-3)
mult = amgrad.multiplier(args.multiplier, bits=8)
print(f"{mult}: NMED {100 * float(amgrad.lut.info(mult)['nmed']):.3f}%")
amgrad.nn.convert(model, mult, amgrad.lut2d())          # every Conv2d / Linear -> the AppMult
model.train(); model(xtr[:1000])                          # calibrate the activation ranges
print(f"on the AppMult, before retraining: {accuracy(model):.2f}%")
print("retraining with LUT-2D"); fit(model, args.epochs, 5e-4)
