#!/usr/bin/python3
"""Markdown tables (mean ± sd over seeds) from estimator_alignment.py's JSON files.
Usage: report.py results.json [more.json ...]"""
import json, statistics, sys

PAPER = {("sgd", "baseline"): (0.515, 98.31), ("sgd", "lr-tweak"): (0.572, 98.66),
         ("sgd", "unadjusted"): (2.52, 96.53), ("adam", "baseline"): (2.81, 94.42),
         ("adam", "lr-tweak"): (1.74, 95.4)}


def ms(xs):
    return f"{statistics.mean(xs):.4g} ± {statistics.stdev(xs):.2g}" if len(xs) > 1 else f"{xs[0]:.4g}"


for path in sys.argv[1:]:
    r = json.load(open(path))
    a = r["args"]
    print(f"\n### {path}\n")
    print(f"train {a['train_size']} images, {a['epochs']} epochs, batch {a['batch']}, lr SGD {a['lr_sgd']} / "
          f"Adam {a['lr_adam']}, t = {a['t_factor']} L, {a['seeds']} seeds"
          + (f", AppMult drop {a['appmult_drop']} bits (NMED {r.get('appmult_nmed_percent', 0):.2f}%), "
             f"{a['appmult_abits']}-bit activations" if a.get("appmult") else ""))
    bits = sorted({k.split("/")[0] for k in r["runs"]})
    for b in bits:
        runs = [v for k, v in r["runs"].items() if k.split("/")[0] == b]
        t = ", ".join(f"{x:.3g}" for x in runs[0]["t"])
        al = ", ".join(f"{x:.3g}" for x in runs[0]["alpha"])
        print(f"\n{b}-bit weights; per layer t = {t}, α = {al}\n")
        print("| optimizer | experiment | Ē (%) | agreement (%) | paper MNIST Ē / agreement (%) |")
        print("|---|---|---|---|---|")
        for opt in ("sgd", "adam"):
            if opt not in runs[0]:
                continue
            for exp in ("baseline", "lr-tweak", "unadjusted"):
                if exp not in runs[0][opt]:
                    continue
                e = [x[opt][exp][0] for x in runs]
                g = [x[opt][exp][1] for x in runs]
                p = PAPER.get((opt, exp))
                print(f"| {opt} | {exp} | {ms(e)} | {ms(g)} | {f'{p[0]} / {p[1]}' if p else '-'} |")
        print("\n| optimizer | net | train acc (%) | test acc (%) |")
        print("|---|---|---|---|")
        names = {"qhat": "Q̂-net (htge)", "ste": "STE-net (SGD: M(w), α·η; Adam: as Q̂-net)", "qhat_lr": "Q̂-net, lr x1.01",
                 "ste_unadj": "STE-net unadjusted"}
        for opt in ("sgd", "adam"):
            if opt not in runs[0]:
                continue
            for net in runs[0][opt]["acc"]:
                tr = [x[opt]["acc"][net][0] for x in runs]
                te = [x[opt]["acc"][net][1] for x in runs]
                print(f"| {opt} | {names[net]} | {ms(tr)} | {ms(te)} |")
