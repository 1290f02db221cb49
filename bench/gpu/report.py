#!/usr/bin/env python3
"""Prints the GPU benchmark table (markdown) from Google Benchmark JSON (medians of repetitions)."""
import json
import sys


def medians(path):
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") == "median":
            out[b["run_name"]] = b
    return data.get("context", {}), out


def main():
    context, runs = medians(sys.argv[1])
    big = "4096x4096x4096"

    def time_ms(name):
        return runs[name]["real_time"] if name in runs else float("nan")

    def rate(name):
        return runs[name]["items_per_second"] if name in runs else float("nan")

    print("| benchmark (median) | time (ms) | G-items/s | splits |")
    print("|---|---|---|---|")
    for name, b in runs.items():
        splits = b.get("splits", "")
        splits = "" if splits == "" else int(splits)
        print(f"| {name} | {b['real_time']:.3f} | {b['items_per_second'] / 1e9:.1f} | {splits} |")
    print()
    sgemm = time_ms(f"gpu_sgemm/{big}")
    ste = time_ms(f"gpu_bwd_dA/ste/u8/{big}")
    print(f"| headline ({big}) | value |")
    print("|---|---|")
    for bits in ("u8", "u7"):
        name = f"gpu_fwd/{bits}/{big}"
        print(f"| forward {bits}: lookups/s | {rate(name):.3e} |")
        print(f"| forward {bits} time / cuBLAS sgemm time | {time_ms(name) / sgemm:.2f} |")
    print(f"| cuBLAS sgemm: MAC/s | {rate(f'gpu_sgemm/{big}'):.3e} |")
    for scheme in ("lut1d", "lut2d"):
        print(f"| backward dA {scheme} / STE | {time_ms(f'gpu_bwd_dA/{scheme}/u8/{big}') / ste:.2f} |")


if __name__ == "__main__":
    main()
