#!/usr/bin/python3
"""Does the weight quantizer's estimator matter under Adam on a large-error AppMult? (issue 14)

LeNet-5 on Fashion-MNIST, pretrained in float, then converted with amgrad.nn.convert: every conv
and linear layer multiplies on the AppMult, weights (8-bit, per output channel) and activations
(8-bit, per tensor) through the library's quantized ops, LUT-2D gradients. Each seed retrains the
same pretrained net with Adam once per weight estimator (pwl = the default clipping STE, ste,
htge(t)) and once with pwl at lr x1.01 (the paper's yardstick for "close"), with the same data
order; the activation estimator is pwl throughout. Ē and the quantized weight agreement come
from amgrad.quant (the C++ metrics), over all weights, each layer quantized with the pwl run's
params; test accuracies with paired 95% t intervals over the seeds."""
import argparse, json, math, os, statistics, sys, time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from estimator_alignment import load  # noqa: E402  (one Fashion-MNIST loader)
import amgrad  # noqa: E402
from amgrad import quant  # noqa: E402

torch.set_num_threads(1)
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571}  # Student t, two-sided 95%


def lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def fit(model, data, epochs, lr, seed, batch=64):
    """Adam; the batch order depends on the seed alone (the same in every run of a seed)."""
    x, y = data
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(1000 + seed)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(batch):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()


@torch.no_grad()
def accuracy(model, data):
    model.eval()
    x, y = data
    return 100 * sum((model(a).argmax(1) == b).sum().item()
                     for a, b in zip(x.split(1000), y.split(1000))) / len(x)


def layers(model):
    return [m for m in model if isinstance(m, amgrad.nn._Approx)]


@torch.no_grad()
def compare(ref, other):
    """(Ē %, agreement %) over all weights, each layer quantized with ref's params."""
    err = agree = count = 0.0
    for a, b in zip(layers(ref), layers(other)):
        scale, zp = a.backend.weight_params(a.weight)
        n = a.weight.numel()
        kw = dict(bits=a.backend.bits, signed=a.multiplier.signed)
        err += n * quant.alignment_error(a.weight, b.weight, scale=scale, zero_point=zp, **kw)
        agree += n * quant.weight_agreement(a.weight, b.weight, scale, zp, **kw)
        count += n
    return 100 * err / count, 100 * agree / count


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--multiplier", default="truncated:9")
    ap.add_argument("--hws", type=int, default=4, help="LUT-2D half window (docs/results.md)")
    ap.add_argument("--htge-t", type=float, default=5.5, help="htge sharpness, code units")
    ap.add_argument("--train-size", type=int, default=4000)
    ap.add_argument("--test-size", type=int, default=2000)
    ap.add_argument("--pretrain-epochs", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="examples/quantizer/results/appmult-estimators.json")
    args = ap.parse_args()
    train, test = load(args.data, "train", args.train_size), load(args.data, "t10k", args.test_size)
    mult = amgrad.multiplier(args.multiplier, bits=8)
    scheme = amgrad.lut2d(hws=args.hws)
    runs = {"pwl": (quant.pwl(), 1.0), "ste": (quant.ste(), 1.0),
            "htge": (quant.htge(args.htge_t), 1.0), "pwl-lr1.01": (quant.pwl(), 1.01)}
    out = {"args": vars(args), "nmed_percent": 100 * float(amgrad.lut.info(mult)["nmed"]),
           "alpha_htge": quant.htge(args.htge_t).alpha(0, 255)[0], "seeds": []}
    print(f"{args.multiplier}: NMED {out['nmed_percent']:.3f}%, LUT-2D hws {args.hws}", flush=True)
    for seed in range(args.seeds):
        t0 = time.time()
        torch.manual_seed(seed)
        pre = lenet()
        fit(pre, train, args.pretrain_epochs, 1e-3, seed + 500)
        r = {"float_test": accuracy(pre, test), "runs": {}}
        nets = {}
        for name, (est, lr_factor) in runs.items():
            model = lenet()
            model.load_state_dict(pre.state_dict())
            amgrad.nn.convert(model, mult, scheme, weight_estimator=est)
            with torch.no_grad():  # calibrate the activation ranges (the same in every run)
                model.train()
                model(train[0][:1000])
            before = accuracy(model, test)
            fit(model, train, args.epochs, args.lr * lr_factor, seed)
            nets[name] = model
            r["runs"][name] = {"before": before, "train": accuracy(model, train),
                               "test": accuracy(model, test)}
        r["pairs"] = {k: compare(nets["pwl"], nets[k]) for k in ("ste", "htge", "pwl-lr1.01")}
        out["seeds"].append(r)
        print(f"seed {seed} ({time.time() - t0:.0f} s): {json.dumps(r)}", flush=True)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    report(out)


def ms(xs):
    return f"{statistics.mean(xs):.3g} ± {statistics.stdev(xs):.2g}" if len(xs) > 1 else f"{xs[0]:.3g}"


def paired(a, b):
    d = [x - y for x, y in zip(a, b)]
    m = statistics.mean(d)
    if len(d) < 2:
        return f"{m:+.2f}"
    h = T975[len(d) - 1] * statistics.stdev(d) / math.sqrt(len(d))
    return f"{m:+.2f} [{m - h:+.2f}, {m + h:+.2f}]"


def report(out):
    seeds = out["seeds"]
    print("\n| pair (vs pwl) | Ē (%) | agreement (%) |\n|---|---|---|")
    for k in ("ste", "htge", "pwl-lr1.01"):
        print(f"| {k} | {ms([s['pairs'][k][0] for s in seeds])} | "
              f"{ms([s['pairs'][k][1] for s in seeds])} |")
    print("\n| run | before retraining (%) | train (%) | test (%) | test − pwl (paired 95% CI) |"
          "\n|---|---|---|---|---|")
    ref = [s["runs"]["pwl"]["test"] for s in seeds]
    for k in seeds[0]["runs"]:
        v = lambda f: [s["runs"][k][f] for s in seeds]
        print(f"| {k} | {ms(v('before'))} | {ms(v('train'))} | {ms(v('test'))} | "
              f"{'-' if k == 'pwl' else paired(v('test'), ref)} |")
    print(f"\nfloat test {ms([s['float_test'] for s in seeds])}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--report":
        report(json.load(open(sys.argv[2])))
    else:
        main()
