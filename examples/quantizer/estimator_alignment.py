#!/usr/bin/python3
"""Are custom quantizer estimators STE in disguise? (paper section 6, on Fashion-MNIST).

Q̂-net: weights quantized by Eq. 1 (per layer, l = -2^(b-1), u = 2^(b-1) - 1, Δ = L / 2^(b-1) with
L = sqrt(6 / fan_in) the He-uniform bound, so the representable range starts at the init's
bound), HTGE estimator with sharpness t = 5.5 L in code units (the paper's "5.5 x the init's
max"), activations in float. STE-net: the same net with the STE inside the quantizer's window
(amgrad::quant::pwl), for SGD with lr α·η and weights M(w) (Eq. 4), for Adam unchanged.
Q̂', α, M, Ē and the agreement come from the C++ library through the binding (amgrad.quant:
Estimator.derivative / alpha / remap_code, alignment_error, weight_agreement); run it with
PYTHONPATH=<build>/python. The float layers are plain torch.

Optional AppMult mode (--appmult): activations quantized to unsigned --appmult-abits codes (per
tensor, fixed range [0, 4], clipping STE), weights as above, every product a*w through a
large-error multiplier, AM(a, w) = sign(a w) * (|a w| with its --appmult-drop low bits cleared),
with table-difference gradients (central differences of the AM table along each operand: a
LUT-2D without a smoothing window); asks whether the estimator still does not matter under Adam.
"""
import argparse, gzip, json, math, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F

from amgrad import quant

torch.set_num_threads(1)


def load(path, split, n):
    """The first n images and labels of a Fashion-MNIST split ('train' or 't10k')."""
    def read(name, offset):
        with gzip.open(f"{path}/{split}-{name}.gz") as g:
            return np.frombuffer(g.read(), np.uint8, offset=offset)
    images = read("images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)[:n]
    labels = read("labels-idx1-ubyte", 8)[:n]
    return (torch.tensor(images, dtype=torch.float32) / 255.0,
            torch.tensor(labels, dtype=torch.int64))


# ---- estimators, code units (v = w / Δ), from the library -----------------------------------
def htge_alpha(t, lo, hi):
    return quant.htge(t).alpha(lo, hi)[0]


def htge_remap(v, t, lo, hi):
    """M(v) (identity outside the window), float32 like v."""
    return quant.htge(t).remap_code(v.detach(), lo, hi).to(v.dtype)


class Quantize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w, delta, lo, hi, estimator):
        v = w / delta
        q = torch.round(v)
        ctx.save_for_backward(v)
        ctx.range, ctx.estimator = (lo, hi), estimator
        return delta * q.clamp(lo, hi)

    @staticmethod
    def backward(ctx, g):
        (v,) = ctx.saved_tensors
        # Q̂'(v) of the library's estimator: htge, or pwl (the STE inside the window).
        d = ctx.estimator.derivative(v, *ctx.range).to(g.dtype)
        return g * d, None, None, None, None


class Net(torch.nn.Module):
    """Chollet's small MNIST convnet, narrowed: conv 8, pool, conv 16, pool, dense 10."""

    def __init__(self, bits, t_factor, estimator):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 8, 3)
        self.c2 = torch.nn.Conv2d(8, 16, 3)
        self.fc = torch.nn.Linear(16 * 5 * 5, 10)
        self.lo, self.hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        self.layers = [self.c1, self.c2, self.fc]
        self.meta = []
        for m in self.layers:
            fan_in = m.weight[0].numel()
            L = math.sqrt(6.0 / fan_in)
            self.meta.append({"L": L, "delta": L / 2 ** (bits - 1), "t": t_factor * L})
        self.estimator = estimator  # "htge" or "ste"
        self.appmult = None

    def qw(self, i):
        m, k = self.layers[i], self.meta[i]
        return Quantize.apply(m.weight, k["delta"], self.lo, self.hi,
                              quant.htge(k["t"]) if self.estimator == "htge" else quant.pwl())

    def forward(self, x):
        if self.appmult is not None:
            return self.appmult.forward(self, x)
        x = F.max_pool2d(F.relu(F.conv2d(x, self.qw(0), self.c1.bias)), 2)
        x = F.max_pool2d(F.relu(F.conv2d(x, self.qw(1), self.c2.bias)), 2)
        return F.linear(x.flatten(1), self.qw(2), self.fc.bias)


def he_uniform_(net, gen):
    with torch.no_grad():
        for m, k in zip(net.layers, net.meta):
            m.weight.uniform_(-k["L"], k["L"], generator=gen)
            m.bias.zero_()


def lr_at(step, total, base):
    warm = max(1, int(0.02 * total))
    if step < warm:
        return base * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    return base * 0.5 * (1 + math.cos(math.pi * p))


def train(net, data, opt_name, lr, lr_scale, seed, epochs, batch):
    """lr_scale[i]: factor on the lr of layer i's weight (α for the adjusted STE-net)."""
    groups = []
    for i, m in enumerate(net.layers):
        groups.append({"params": [m.weight], "scale": lr_scale[i]})
        groups.append({"params": [m.bias], "scale": 1.0})
    if opt_name == "sgd":
        opt = torch.optim.SGD(groups, lr=lr, momentum=0.9)
    else:
        opt = torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.95))
    x, y = data
    n = x.shape[0]
    steps = epochs * (n // batch)
    gen = torch.Generator().manual_seed(1000 + seed)
    step = 0
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for j in range(n // batch):
            idx = perm[j * batch:(j + 1) * batch]
            cur = lr_at(step, steps, lr)
            for g in opt.param_groups:
                g["lr"] = cur * g["scale"]
            opt.zero_grad()
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
            step += 1


@torch.no_grad()
def accuracy(net, data):
    x, y = data
    correct = 0
    for j in range(0, x.shape[0], 1000):
        correct += (net(x[j:j + 1000]).argmax(1) == y[j:j + 1000]).sum().item()
    return 100.0 * correct / x.shape[0]


@torch.no_grad()
def metrics(a, b, remap_a):
    """Ē (mean over all quantized weights of |M(w_a) - w_b| / (Δ (u - l))) and the quantized
    weight agreement, by the library (amgrad::quant::alignment_error / weight_agreement)."""
    err, agree, count = 0.0, 0.0, 0
    bits = int(round(math.log2(a.hi - a.lo + 1)))
    for i, (ma, mb) in enumerate(zip(a.layers, b.layers)):
        k = a.meta[i]
        d = k["delta"]
        wa, wb = ma.weight / d, mb.weight / d
        if remap_a:
            wa = htge_remap(wa, k["t"], a.lo, a.hi)
        n = wa.numel()
        err += n * quant.alignment_error(wa, wb, a.hi - a.lo)
        agree += n * quant.weight_agreement(ma.weight, mb.weight, d, 0, bits=bits, signed=True)
        count += n
    return 100.0 * err / count, 100.0 * agree / count


def run_seed(args, bits, seed, train_data, test_data, appmult=None):
    def fresh(estimator):
        net = Net(bits, args.t_factor, estimator)
        torch.manual_seed(seed)
        he_uniform_(net, torch.Generator().manual_seed(seed))
        net.appmult = appmult
        return net

    def copy_from(dst, src, remap):
        with torch.no_grad():
            for i, (md, ms) in enumerate(zip(dst.layers, src.layers)):
                k = src.meta[i]
                w = ms.weight
                if remap:
                    w = k["delta"] * htge_remap(w / k["delta"], k["t"], src.lo, src.hi)
                md.weight.copy_(w)
                md.bias.copy_(ms.bias)

    alphas = [htge_alpha(k["t"], -(2 ** (bits - 1)), 2 ** (bits - 1) - 1) for k in fresh("htge").meta]
    out = {"alpha": alphas, "t": [k["t"] for k in fresh("htge").meta]}
    opts = ["sgd", "adam"] if appmult is None else ["adam", "sgd"]
    for opt in opts:
        if appmult is not None and opt not in args.appmult_opts:
            continue
        lr = args.lr_sgd if opt == "sgd" else args.lr_adam
        ones = [1.0] * 3
        init = fresh("htge")
        nets = {}
        q = fresh("htge"); copy_from(q, init, False)
        train(q, train_data, opt, lr, ones, seed, args.epochs, args.batch); nets["qhat"] = q
        s = fresh("ste"); copy_from(s, init, opt == "sgd")
        train(s, train_data, opt, lr, alphas if opt == "sgd" else ones, seed, args.epochs, args.batch)
        nets["ste"] = s
        q2 = fresh("htge"); copy_from(q2, init, False)
        train(q2, train_data, opt, lr * 1.01, ones, seed, args.epochs, args.batch); nets["qhat_lr"] = q2
        if opt == "sgd":
            u = fresh("ste"); copy_from(u, init, False)
            train(u, train_data, opt, lr, ones, seed, args.epochs, args.batch); nets["ste_unadj"] = u
        r = {"baseline": metrics(q, s, opt == "sgd"), "lr-tweak": metrics(q, q2, False)}
        if opt == "sgd":
            r["unadjusted"] = metrics(q, nets["ste_unadj"], False)
        r["acc"] = {k: (accuracy(v, train_data), accuracy(v, test_data)) for k, v in nets.items()}
        out[opt] = r
        print(f"  bits {bits} seed {seed} {opt}: " + json.dumps({k: v for k, v in r.items()}), flush=True)
    return out


# ---- AppMult mode: activations quantized, product through a table with LUT-2D gradients ----
class AppMultLayers:
    def __init__(self, bits, abits, drop):
        # Weight codes are signed b-bit, activation codes unsigned abits-bit; AM(a, w) =
        # a * w with the `drop` low bits of |a * w| truncated (a large-error multiplier).
        self.bits, self.abits = bits, abits
        a = torch.arange(2 ** abits, dtype=torch.float64)[:, None]
        w = torch.arange(-(2 ** (bits - 1)), 2 ** (bits - 1), dtype=torch.float64)[None, :]
        p = a * w
        am = torch.sign(p) * torch.floor(p.abs() / 2 ** drop) * 2 ** drop
        self.table = am.float()
        # LUT-2D-style gradients: central differences along each operand (one-sided at the ends).
        self.da = torch.gradient(am, dim=0)[0].float()
        self.dw = torch.gradient(am, dim=1)[0].float()
        self.wmin = -(2 ** (bits - 1))
        exact = a * w
        self.nmed = ((am - exact).abs().mean() / exact.abs().max()).item()

    def matmul(self, ca, cw):
        """ca: [M, K] activation codes (float ints), cw: [K, N] weight codes; returns Σ_k AM.
        Exact: one matmul per weight level, Σ_l T[ca, l] @ [cw == l]."""
        ia = ca.long()
        y = 0
        for l in range(self.table.shape[1]):
            y = y + self.table[:, l][ia] @ (cw == l + self.wmin).to(ca.dtype)
        return y

    def forward(self, net, x):
        def qact(x):
            s = 4.0 / (2 ** self.abits - 1)
            return QAct.apply(x, s, 2 ** self.abits - 1), s
        def layer(x2d, i):  # x2d [M, K] float activations, returns [M, N]
            ca, sa = qact(x2d)
            m, k = net.layers[i], net.meta[i]
            wq = net.qw(i)  # Δ q with the estimator's backward
            cw = (wq / k["delta"]).reshape(wq.shape[0], -1).t()
            return AMMul.apply(ca, cw, self) * (sa * k["delta"]) + m.bias
        def conv(x, i):
            m = net.layers[i]
            n, c, h, w = x.shape
            cols = F.unfold(x, 3).transpose(1, 2).reshape(-1, c * 9)
            y = layer(cols, i)
            oh, ow = h - 2, w - 2
            return y.reshape(n, oh * ow, -1).transpose(1, 2).reshape(n, -1, oh, ow)
        x = F.max_pool2d(F.relu(conv(x, 0)), 2)
        x = F.max_pool2d(F.relu(conv(x, 1)), 2)
        return layer(x.flatten(1), 2)


class QAct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, s, qmax):
        v = torch.round(x / s)
        inside = (v >= 0) & (v <= qmax)
        ctx.save_for_backward(inside)
        ctx.s = s
        return v.clamp(0, qmax)  # codes

    @staticmethod
    def backward(ctx, g):
        (inside,) = ctx.saved_tensors
        return g * inside.to(g.dtype) / ctx.s, None, None


class AMMul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, ca, cw, am):
        ctx.save_for_backward(ca, cw)
        ctx.am = am
        return am.matmul(ca, cw)

    @staticmethod
    def backward(ctx, g):
        ca, cw = ctx.saved_tensors
        am = ctx.am
        ia = ca.long()
        dca = torch.zeros_like(ca)
        dcw = torch.zeros_like(cw)
        for l in range(am.table.shape[1]):
            onehot = (cw == l + am.wmin).to(g.dtype)  # [K, N]
            dca += am.da[:, l][ia] * (g @ onehot.t())  # Σ_j g[i,j] [w_kj = l] dAM/da(a_ik, l)
            dcw += onehot * (am.dw[:, l][ia].t() @ g)  # [w_kj = l] Σ_i g[i,j] dAM/dw(a_ik, l)
        return dca, dcw, None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--train-size", type=int, default=10000)
    ap.add_argument("--test-size", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--bits", default="2,4")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--t-factor", type=float, default=5.5)
    ap.add_argument("--lr-sgd", type=float, default=1e-3)
    ap.add_argument("--lr-adam", type=float, default=1e-4)
    ap.add_argument("--appmult", action="store_true", help="AppMult mode (see above)")
    ap.add_argument("--appmult-drop", type=int, default=2, help="truncated low bits of |a*w|")
    ap.add_argument("--appmult-abits", type=int, default=4)
    ap.add_argument("--appmult-opts", default="adam")
    ap.add_argument("--out", default="quantizer-results/results.json")
    args = ap.parse_args()
    train_data = load(args.data, "train", args.train_size)
    test_data = load(args.data, "t10k", args.test_size)
    results = {"args": vars(args), "runs": {}}
    for bits in [int(b) for b in args.bits.split(",")]:
        am = AppMultLayers(bits, args.appmult_abits, args.appmult_drop) if args.appmult else None
        if am is not None:
            results["appmult_nmed_percent"] = 100 * am.nmed
            print(f"AppMult: {bits}-bit weights x {args.appmult_abits}-bit activations, "
                  f"drop {args.appmult_drop} bits, NMED {100 * am.nmed:.2f}%", flush=True)
        for seed in range(args.seeds):
            t0 = time.time()
            results["runs"][f"{bits}/{seed}"] = run_seed(args, bits, seed, train_data, test_data, am)
            print(f"bits {bits} seed {seed} done in {time.time() - t0:.1f} s", flush=True)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
