#!/bin/bash
# The grid behind docs/results.md, on 2 cores: every step runs as two single-threaded `retrain`
# processes (--shard 0/2 and 1/2, one per core), merged at the end into docs/results_grid.*.
#
#   examples/libtorch/grid.sh            from the repository root, after building `retrain`
#   RETRAIN=path/to/retrain WORK=dir DOCS=dir examples/libtorch/grid.sh [steps...]
#
# Steps (default: all, in this order): float hws lenet_all lenet_conv vgg_conv probe ablations merge
# (hws_merge: only the merge of the two HWS-search shards). Not in the default (issue 12,
# docs/hws-and-lowrank.md): lowrank (LeNet all layers: STE, LUT-2D and lut2d_lowrank at 1% and
# at rank 2, merged into $WORK/lowrank.md) and hws_seeds (the HWS search again with seeds 1 and 2,
# merged with seed 0 into $WORK/hws_seeds.md).
# SERIAL=1: one process per step instead of two shards (a machine shared with other work).
set -euo pipefail
RETRAIN=${RETRAIN:-build/default/examples/libtorch/retrain}
WORK=${WORK:-retrain-results/grid}
DOCS=${DOCS:-docs}
CACHE=${CACHE:-retrain-results}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
mkdir -p "$WORK" "$CACHE"
steps=${*:-float hws lenet_all lenet_conv vgg_conv probe ablations merge}

# 3 published tables (8-column truncation, mul8u_17C8, mul7u_08E) and 7 built-in models that lose
# >= 20 points before retraining (8, 7 and 6 bits).
MULTS=(--multipliers trunc8,mul8u_17C8,mul7u_08E
       --model truncated:9,bam:4,8,drum:3,perforated:4,2,truncated:7@7,perforated:2,2@7,truncated:5@6)
HARD3=(--model truncated:9,perforated:4,2,truncated:7@7)
LENET=(--net lenet --cache "$CACHE/lenet5_float.pt")
VGG=(--net vgg8 --cache "$CACHE/vgg8_float.pt" --pretrain-epochs 3)
VGGMULTS=(--multipliers trunc8,mul8u_17C8
          --model truncated:9,bam:4,8,drum:3,perforated:4,2,truncated:7@7,truncated:5@6)
RUNS=(--seeds 3 --test-subset 4000 --hws-file "$WORK/hws.tsv")

log() { echo "[grid $(date +%H:%M:%S)] $*"; }
# pair NAME ARGS...: shards 0 and 1 of one retrain command, in parallel.
pair() {
  local name=$1
  shift
  log "$name"
  if [ "${SERIAL:-0}" = 1 ]; then
    "$RETRAIN" "$@" --out "$WORK" --prefix "${name}_0" > "$WORK/${name}_0.log" 2>&1
    return
  fi
  "$RETRAIN" "$@" --out "$WORK" --prefix "${name}_0" --shard 0/2 > "$WORK/${name}_0.log" 2>&1 &
  local first=$!
  "$RETRAIN" "$@" --out "$WORK" --prefix "${name}_1" --shard 1/2 > "$WORK/${name}_1.log" 2>&1
  wait $first
}
start=$(date +%s)
for step in $steps; do
  case $step in
    float)  # the float weights, cached (LeNet-5: 4 epochs, VGG8: 3 epochs, all 60000 images)
      log float
      [ -f "$CACHE/lenet5_float.pt" ] || "$RETRAIN" "${LENET[@]}" --epochs 0 --model exact --out "$WORK" --prefix float_lenet > "$WORK/float_lenet.log" 2>&1 &
      [ -f "$CACHE/vgg8_float.pt" ] || "$RETRAIN" "${VGG[@]}" --epochs 0 --model exact --out "$WORK" --prefix float_vgg > "$WORK/float_vgg.log" 2>&1
      wait ;;
    hws)  # the authors' search: 5 epochs of LeNet-5 (all layers) on 2000 images per HWS
      pair hws "${LENET[@]}" --approx all "${MULTS[@]}" --epochs 0 --tune-hws --tune-epochs 5 \
        --tune-subset 2000 --train-subset 6000 --test-subset 5000
      "$RETRAIN" --merge "$WORK/hws_0.tsv,$WORK/hws_1.tsv" --out "$WORK" --prefix hws > /dev/null ;;
    hws_merge)
      "$RETRAIN" --merge "$WORK/hws_0.tsv,$WORK/hws_1.tsv" --out "$WORK" --prefix hws > /dev/null ;;
    lenet_all)
      pair lenet_all "${LENET[@]}" --approx all "${MULTS[@]}" "${RUNS[@]}" --epochs 3 --train-subset 4000 ;;
    lenet_conv)
      pair lenet_conv "${LENET[@]}" --approx conv "${MULTS[@]}" "${RUNS[@]}" --epochs 3 --train-subset 4000 ;;
    vgg_conv)
      pair vgg_conv "${VGG[@]}" --approx conv "${VGGMULTS[@]}" "${RUNS[@]}" --epochs 2 --train-subset 3000 ;;
    probe)  # gradient fidelity before retraining, no training
      pair probe_lenet "${LENET[@]}" --approx all --multipliers trunc8,mul8u_17C8 "${HARD3[@]}" \
        --model perforated:2,2@7 \
        --epochs 0 --probe --probe-samples 48 --probe-sigma 1,4 --train-subset 4000 --test-subset 4000 \
        --hws-file "$WORK/hws.tsv"
      pair probe_vgg "${VGG[@]}" --approx conv --multipliers trunc8 --model truncated:9,bam:4,8,perforated:4,2 \
        --epochs 0 --probe --probe-samples 48 --probe-sigma 4 --probe-batch 32 --train-subset 3000 \
        --test-subset 4000 --hws-file "$WORK/hws.tsv" ;;
    ablations)  # one change each, applied to every scheme alike: LeNet-5 (all layers) on 3 hard
                # multipliers (epochs, lr 3e-4 and 3e-3, HWS 2^(B-3) instead of the search);
                # VGG8 with HWS 2^(B-3)
      pair abl_epochs "${LENET[@]}" --approx all "${HARD3[@]}" "${RUNS[@]}" --epochs 6 --train-subset 4000
      pair abl_lr "${LENET[@]}" --approx all "${HARD3[@]}" "${RUNS[@]}" --epochs 3 --train-subset 4000 \
        --lr 3e-4 --tag lr3e-4
      pair abl_lr_hi "${LENET[@]}" --approx all "${HARD3[@]}" "${RUNS[@]}" --epochs 3 --train-subset 4000 \
        --lr 3e-3 --tag lr3e-3
      pair abl_hws "${LENET[@]}" --approx all "${HARD3[@]}" --seeds 3 --test-subset 4000 --epochs 3 \
        --train-subset 4000 --schemes ste,lut2d --hws auto --tag hws-auto
      pair abl_vgg_hws "${VGG[@]}" --approx conv --model truncated:9,perforated:4,2 --seeds 3 \
        --test-subset 4000 --epochs 2 --train-subset 3000 --schemes ste,lut2d --hws auto --tag hws-auto ;;
    lowrank)  # the lenet_all setting with the low-rank scheme beside STE and LUT-2D (same seeds)
      pair lowrank "${LENET[@]}" --approx all "${MULTS[@]}" "${RUNS[@]}" --epochs 3 --train-subset 4000 \
        --schemes ste,lut2d,lut2d_lowrank --rank-tol 0.01 --tag lowrank
      pair lowrank_r2 "${LENET[@]}" --approx all "${MULTS[@]}" "${RUNS[@]}" --epochs 3 --train-subset 4000 \
        --schemes lut2d_lowrank --rank 2 --tag lowrank
      "$RETRAIN" --merge "$(ls "$WORK"/lowrank_[01].tsv "$WORK"/lowrank_r2_[01].tsv | paste -sd,)" \
        --out "$WORK" --prefix lowrank > /dev/null
      log "merged into $WORK/lowrank.md" ;;
    hws_seeds)  # is the search stable? the same search with two more seeds
      for seed in 1 2; do
        pair hws_seed$seed "${LENET[@]}" --approx all "${MULTS[@]}" --epochs 0 --tune-hws --tune-epochs 5 \
          --tune-subset 2000 --train-subset 6000 --test-subset 5000 --tune-seed $seed --tag seed$seed
      done
      "$RETRAIN" --merge "$(ls "$WORK"/hws.tsv "$WORK"/hws_seed[12]_[01].tsv | paste -sd,)" \
        --out "$WORK" --prefix hws_seeds > /dev/null
      log "merged into $WORK/hws_seeds.md" ;;
    merge)
      files=""
      for name in lenet_all lenet_conv vgg_conv hws probe_lenet probe_vgg abl_epochs abl_lr abl_lr_hi \
                  abl_hws abl_vgg_hws; do
        for shard in 0 1; do
          [ -f "$WORK/${name}_$shard.tsv" ] && files="$files${files:+,}$WORK/${name}_$shard.tsv"
        done
      done
      "$RETRAIN" --merge "$files" --out "$DOCS" --prefix results_grid > /dev/null
      log "merged into $DOCS/results_grid.md" ;;
    *) echo "grid.sh: unknown step $step" >&2; exit 2 ;;
  esac
done
log "done in $(( ($(date +%s) - start) / 60 )) min"
