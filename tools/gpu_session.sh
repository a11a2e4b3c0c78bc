#!/usr/bin/env bash
# Everything vidclear does on a lent CUDA machine, in one call (its time is short and counted):
#   1. tools/gpu_check.py (unless GPU_CHECK=0): CUDA fp32/fp16 correctness against float64 and frames/s
#      of every model;
#   2. the low-light whole-image stage (tools/tune_lowlight_whole.py) on the GPU, each configuration run
#      twice at once with the same seed, so the model card's reproduction check comes from the same call.
# Usage, from the repository root on the GPU machine:
#   tools/gpu_session.sh DATA_DIR INIT_WEIGHTS OUT_DIR NAME="tune options" [NAME="tune options" ...]
# e.g. tools/gpu_session.sh carry/data vidclear/models/weights/lowlight.pt out \
#          lr1e-4="--size full --steps 1000 --images 8 --lr 1e-4 --ema 0.995 --val-every 50"
# DATA_DIR holds sr/train_t91 and sr/train_bsd200 (../shared does not travel to that machine).
# MAX_SECONDS is the stage's time guard (default 360); DEVICE=cpu rehearses it here.
set -u
data=$1 init=$2 out=$3
shift 3
max_seconds=${MAX_SECONDS:-360} device=${DEVICE:-cuda}
export PYTHONUNBUFFERED=1
mkdir -p "$out"
if [ "$device" = cuda ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,temperature.gpu --format=csv
    if [ "${GPU_CHECK:-1}" = 1 ]; then
        python3 tools/gpu_check.py --json "$out/gpu_check.json" >"$out/gpu_check.log" 2>&1
        echo "gpu_check exit status $?"
        tail -n 22 "$out/gpu_check.log"
    fi
fi
start=$(date +%s)
runs=()
for config in "$@"; do
    name=${config%%=*} options=${config#*=}
    for copy in A B; do
        run=$name-$copy
        runs+=("$run")
        mkdir -p "$out/$run"
        # shellcheck disable=SC2086  # the options are words on purpose
        python3 tools/tune_lowlight_whole.py --init "$init" --device "$device" $options --threads 2 --seed 0 \
            --max-seconds "$max_seconds" --data "$data" --out "$out/$run/lowlight.pt" >"$out/$run/train.log" 2>&1 &
    done
done
wait
echo "all ${#runs[@]} low-light runs ended after $(($(date +%s) - start)) s"
for run in "${runs[@]}"; do
    echo "== run $run"
    grep -E "^tune_lowlight_whole|^step [0-9]+/[0-9]+ " "$out/$run/train.log" | awk 'NR <= 2 || NR % 4 == 0'
    tail -n 2 "$out/$run/train.log"
done
