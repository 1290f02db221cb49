#!/usr/bin/env bash
# On a GPU machine (no network needed): configures and builds the CUDA tests and benchmarks for
# the GPU present, runs the tests, then the benchmarks, and prints the headline table.
# Needs .deps/ from bench/gpu/prepare_deps.sh (carried by the device tool: carry [".deps"]).
# Results go to $OUT (the device tool's output folder) when set, else to the build folder.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
deps=${AMGRAD_DEPS_DIR:-$root/.deps}
build=${AMGRAD_GPU_BUILD:-/tmp/amgrad-gpu-build}
out=${OUT:-$build/results}
mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH

nvidia-smi --query-gpu=name,compute_cap,driver_version,clocks.max.sm --format=csv | tee "$out/gpu.txt"
arch=${AMGRAD_CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '. ')}
generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi

start=$(date +%s)
cmake -S "$root/bench/gpu" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" -DAMGRAD_DEPS_DIR="$deps" | tail -3
cmake --build "$build" -j "$(nproc)" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|^\[ *[0-9]+%\]' || true
test -x "$build/amgrad_gpu_bench" && test -x "$build/tests/test_kernel_device"
echo "build: $(( $(date +%s) - start )) s for sm_$arch"

set +e
ctest --test-dir "$build" --output-on-failure 2>&1 | tee "$out/ctest.log"
tests_status=${PIPESTATUS[0]}
set -e

export LD_LIBRARY_PATH="$deps/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"$build/amgrad_gpu_bench" --benchmark_out="$out/gpu_bench.json" --benchmark_out_format=json \
  ${AMGRAD_BENCH_FILTER:+--benchmark_filter="$AMGRAD_BENCH_FILTER"} | tee "$out/gpu_bench.txt"
python3 "$root/bench/gpu/report.py" "$out/gpu_bench.json" | tee "$out/gpu_report.md"
exit "$tests_status"
