#!/usr/bin/env python3
"""Prints the headline ratios of issue 3 from amgrad_bench's JSON output.

    amgrad_bench --benchmark_format=json --benchmark_repetitions=5 ... > out.json
    python3 bench/ratios.py out.json            # or: ... | python3 bench/ratios.py -

Uses the median over repetitions (of the iteration runs; Google Benchmark's "median" aggregate
when only aggregates were reported), or with --stat min the fastest repetition. Rates come from the wall-clock real_time by default: items are
M*N*K per call, read from the <M>x<N>x<K> part of the name. --metric cpu uses the main thread's
CPU time instead (what items_per_second reports). Python 3 standard library only.
"""
import argparse
import json
import re
import statistics
import sys

SHAPE = re.compile(r"/(\d+)x(\d+)x(\d+)/")
HEAD = "1024x1024x1024"

# (label, numerator, denominator or None, kind, goal) -- kind: rate, time_ratio, speedup,
# cpu_speedup: the 1-thread CPU time against half the CPU time of all threads of the 2-thread
# run (its /process_time copy): the speedup two dedicated cores would give if no thread ever
# waited, a lower bound when threads spin while they wait. For shared machines.
CHECKS = [
    ("fwd u8, 1 thread [G-lookups/s]", f"fwd/u8/{HEAD}/threads:1", None, "rate", (">=", 20.0)),
    ("fwd u7, 1 thread [G-lookups/s]", f"fwd/u7/{HEAD}/threads:1", None, "rate", (">=", 35.0)),
    ("sgemm, 1 thread [G-MAC/s]", f"sgemm/{HEAD}/threads:1", None, "rate", None),
    ("fwd u8 time / sgemm time, 1 thread", f"fwd/u8/{HEAD}/threads:1", f"sgemm/{HEAD}/threads:1",
     "time_ratio", ("<=", 2.5)),
    ("fwd u8: 2 threads / 1 thread", f"fwd/u8/{HEAD}/threads:2", f"fwd/u8/{HEAD}/threads:1",
     "speedup", (">=", 1.7)),
    ("fwd u7: 2 threads / 1 thread", f"fwd/u7/{HEAD}/threads:2", f"fwd/u7/{HEAD}/threads:1",
     "speedup", (">=", 1.7)),
    ("sgemm: 2 threads / 1 thread", f"sgemm/{HEAD}/threads:2", f"sgemm/{HEAD}/threads:1",
     "speedup", None),
    ("fwd u8: 2 threads / 1 thread, from CPU", f"fwd/u8/{HEAD}/threads:2/process_time",
     f"fwd/u8/{HEAD}/threads:1", "cpu_speedup", None),
    ("fwd u7: 2 threads / 1 thread, from CPU", f"fwd/u7/{HEAD}/threads:2/process_time",
     f"fwd/u7/{HEAD}/threads:1", "cpu_speedup", None),
    ("sgemm: 2 threads / 1 thread, from CPU", f"sgemm/{HEAD}/threads:2/process_time",
     f"sgemm/{HEAD}/threads:1", "cpu_speedup", None),
    ("bwd_dA lut1d / ste, u8, 1 thread", f"bwd_dA/lut1d/u8/{HEAD}/threads:1",
     f"bwd_dA/ste/u8/{HEAD}/threads:1", "time_ratio", ("<=", 1.10)),
    ("bwd_dA lut2d / ste, u8, 1 thread", f"bwd_dA/lut2d/u8/{HEAD}/threads:1",
     f"bwd_dA/ste/u8/{HEAD}/threads:1", "time_ratio", ("<=", 2.5)),
    ("portable / naive (speed), u8, 1 thread", f"portable/u8/{HEAD}/threads:1",
     f"naive/u8/{HEAD}/threads:1", "speedup", (">=", 1.3)),
]

UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def medians(doc, metric, stat="median"):
    """run name -> seconds per call: the median (or the minimum) over the repetitions."""
    agg, runs = {}, {}
    for b in doc.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        field = "cpu_time" if metric == "cpu" or name.endswith("/process_time") else "real_time"
        seconds = b[field] * UNIT[b.get("time_unit", "ns")]
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == stat:
                agg[name] = seconds
        else:
            runs.setdefault(name, []).append(seconds)
    pick = statistics.median if stat == "median" else min
    out = dict(agg)
    out.update({name: pick(v) for name, v in runs.items()})
    return out


def items(name):
    m = SHAPE.search(name)
    return int(m[1]) * int(m[2]) * int(m[3]) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="amgrad_bench --benchmark_format=json output, or - for stdin")
    ap.add_argument("--metric", choices=["real", "cpu"], default="real")
    ap.add_argument("--stat", choices=["median", "min"], default="median",
                    help="min: the fastest repetition, the closest to an unshared machine")
    ap.add_argument("--all", action="store_true", help="also list every benchmark's rate")
    args = ap.parse_args()
    doc = json.load(sys.stdin if args.json == "-" else open(args.json))
    t = medians(doc, args.metric, args.stat)
    t_cpu = medians(doc, "cpu", args.stat)
    ctx = doc.get("context", {})
    print(f"# {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs, "
          f"load {ctx.get('load_avg', '?')}, metric: {args.metric} time, {args.stat} over repetitions")
    print(f"| {'quantity':40} | {'value':>8} | {'goal':>8} | ok |")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 10}|----|")
    failed = 0
    for label, num, den, kind, goal in CHECKS:
        if num not in t or (den is not None and den not in t):
            print(f"| {label:40} | {'n/a':>8} | {'':>8} |    |")
            continue
        if kind == "rate":
            value = items(num) / t[num] / 1e9
        elif kind == "time_ratio":
            value = t[num] / t[den]
        elif kind == "cpu_speedup":
            value = t_cpu[den] / (t_cpu[num] / 2)
        else:  # speedup: how much faster num is than den, per item
            value = (items(num) / t[num]) / (items(den) / t[den])
        ok = ""
        if goal:
            op, bound = goal
            good = value >= bound if op == ">=" else value <= bound
            failed += not good
            ok = "yes" if good else "NO"
        goal_text = f"{goal[0]} {goal[1]:g}" if goal else ""
        print(f"| {label:40} | {value:8.2f} | {goal_text:>8} | {ok:3}|")
    if args.all:
        print()
        print(f"| {'benchmark':55} | {'ms/call':>9} | {'G items/s':>9} |")
        print(f"|{'-' * 57}|{'-' * 11}|{'-' * 11}|")
        for name in sorted(t):
            n = items(name)
            rate = f"{n / t[name] / 1e9:9.2f}" if n else f"{'':9}"
            print(f"| {name:55} | {t[name] * 1e3:9.3f} | {rate} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
