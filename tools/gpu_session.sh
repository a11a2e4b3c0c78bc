#!/usr/bin/env bash
# Everything vidclear does on a lent CUDA machine, in one call (its time is short and counted):
#   1. tools/gpu_check.py: CUDA fp32/fp16 correctness against float64 and frames/s of every model;
#   2. the low-light whole-image stage (tools/tune_lowlight_whole.py) on the GPU, run twice at once with
#      the same seed, so the model card's reproduction check comes from the same call.
# Usage, from the repository root on the GPU machine:
#   tools/gpu_session.sh DATA_DIR STAGE3_WEIGHTS OUT_DIR
# DATA_DIR holds sr/train_t91 and sr/train_bsd200 (../shared does not travel to that machine).
# STEPS, IMAGES and MAX_SECONDS override the stage's defaults (a quick CPU rehearsal: DEVICE=cpu STEPS=2).
set -u
data=$1 init=$2 out=$3
steps=${STEPS:-8000} images=${IMAGES:-8} max_seconds=${MAX_SECONDS:-360} device=${DEVICE:-cuda}
export PYTHONUNBUFFERED=1
mkdir -p "$out"
if [ "$device" = cuda ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,temperature.gpu --format=csv
    python3 tools/gpu_check.py --json "$out/gpu_check.json" >"$out/gpu_check.log" 2>&1
    echo "gpu_check exit status $?"
    tail -n 22 "$out/gpu_check.log"
fi
start=$(date +%s)
for run in A B; do
    mkdir -p "$out/$run"
    python3 tools/tune_lowlight_whole.py --init "$init" --device "$device" --steps "$steps" --images "$images" \
        --lr 2e-4 --ema 0.999 --val-every 200 --threads 2 --seed 0 --max-seconds "$max_seconds" \
        --data "$data" --out "$out/$run/lowlight.pt" >"$out/$run/train.log" 2>&1 &
done
wait
echo "both low-light runs ended after $(($(date +%s) - start)) s"
for run in A B; do
    echo "== run $run"
    grep -E "^tune_lowlight_whole|^step [0-9]+/[0-9]+ " "$out/$run/train.log" | awk 'NR <= 2 || NR % 5 == 0'
    tail -n 2 "$out/$run/train.log"
done
