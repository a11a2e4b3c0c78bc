#!/usr/bin/env bash
# The low-light network's patch stages (1 and 2 of the model card's recipe) trained for far more steps on a
# lent CUDA machine, in one call (its time is short and counted). Stages 3 to 5 then run on the CPU as the
# card lists them, from the stage-2 file this writes.
#   1. a probe: both stages' shapes at once for a few hundred steps, to size them to the time given;
#   2. stage 1 then stage 2, each run twice at once with the same seed (the card's reproduction check
#      comes from the same call); the exact commands are printed, so they can be run again.
# Usage, from the repository root on the GPU machine:
#   tools/gpu_lowlight_trunk.sh DATA_DIR OUT_DIR [SECONDS]
# DATA_DIR holds sr/train_t91 and sr/train_bsd200 (../shared does not travel to that machine); SECONDS
# (default 400) is the time for the two stages together, probe not counted. DEVICE=cpu rehearses it here.
# TRAIN_ARGS adds options to every run, e.g. TRAIN_ARGS=--deterministic (deterministic CUDA kernels: the
# two copies should then come out identical; the probe measures what that costs). MAX_STEPS1 and MAX_STEPS2
# cap the step counts (e.g. 9000 and 5000 to repeat the shipped recipe when it fits the time).
set -u
data=$1 out=$2 budget=${3:-400}
device=${DEVICE:-cuda}
probe_steps=${PROBE_STEPS:-300} min_steps=${MIN_STEPS:-500}
export PYTHONUNBUFFERED=1
mkdir -p "$out"
[ "$device" = cuda ] && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
train() {  # train() NAME LOG options...: one train_lowlight.py run, in the background
    local name=$1 log=$2
    shift 2
    echo "\$ python3 tools/train_lowlight.py $* --device $device --val-every 0 --threads 2 --data DATA --out $name" >>"$out/commands.txt"
    python3 tools/train_lowlight.py "$@" --device "$device" --val-every 0 --threads 2 --data "$data" \
        --work-dir "$tmp/$(basename "$name" .pt).work" --out "$name" >"$log" 2>&1 &
}
rate() {  # the last steps/s a log printed, or 0
    local r
    r=$(grep -o '[0-9.]* steps/s' "$1" | tail -n 1 | cut -d' ' -f1)
    echo "${r:-0}"
}
# shellcheck disable=SC2206  # TRAIN_ARGS is split into options on purpose
stage1=(--patch 64 --batch 64 --lr 2e-3 --seed 0 ${TRAIN_ARGS:-})
# shellcheck disable=SC2206
stage2=(--patch 128 --batch 32 --lr 5e-4 --brightness 0 --seed 1 ${TRAIN_ARGS:-})
tmp=$(mktemp -d)
start=$(date +%s)
train "$tmp/probe1.pt" "$tmp/probe1.log" "${stage1[@]}" --steps "$probe_steps" --ckpt-every 100
train "$tmp/probe2.pt" "$tmp/probe2.log" "${stage2[@]}" --steps "$probe_steps" --ckpt-every 100
wait
tail -n 3 "$tmp"/probe*.log
r1=$(rate "$tmp/probe1.log") r2=$(rate "$tmp/probe2.log")
if grep -q "loss nan" "$tmp/probe1.log" "$tmp/probe2.log" || [ "$r1" = 0 ] || [ "$r2" = 0 ]; then
    echo "probe failed after $(($(date +%s) - start)) s"
    exit 1
fi
# steps that fit: stage 1 gets 55% of the time, stage 2 45%; whole thousands (at least MIN_STEPS, default 500)
s1=$(python3 -c "print(min(${MAX_STEPS1:-10**9}, max($min_steps, int($r1 * 0.55 * $budget) // 1000 * 1000)))")
s2=$(python3 -c "print(min(${MAX_STEPS2:-10**9}, max($min_steps, int($r2 * 0.45 * $budget) // 1000 * 1000)))")
echo "probe ($(($(date +%s) - start)) s): stage 1 ${r1} steps/s, stage 2 ${r2} steps/s (two at once) -> ${s1} and ${s2} steps"
: >"$out/commands.txt"
t1=$(date +%s)
for copy in A B; do train "$out/stage1_$copy.pt" "$out/stage1_$copy.log" "${stage1[@]}" --steps "$s1" --ckpt-every 1000; done
wait
t2=$(date +%s)
for copy in A B; do
    train "$out/stage2_$copy.pt" "$out/stage2_$copy.log" "${stage2[@]}" --init "$out/stage1_$copy.pt" --steps "$s2" --ckpt-every 1000
done
wait
echo "stage 1: $((t2 - t1)) s, stage 2: $(($(date +%s) - t2)) s"
cat "$out/commands.txt"
for log in "$out"/stage[12]_[AB].log; do echo "== $log"; grep -E "^step" "$log" | awk 'NR % 5 == 0'; tail -n 1 "$log"; done
rm -f "$out"/stage1_[AB].pt  # stage 2's files, the logs and the commands are what comes back (7 files)
python3 - "$out/stage2_A.pt" "$out/stage2_B.pt" <<'EOF'
import sys, torch
a, b = (torch.load(p, map_location="cpu", weights_only=True) for p in sys.argv[1:])
diff = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
same = all(torch.equal(a[k], b[k]) for k in a)
print(f"copies A and B: identical tensors {same}, largest difference {diff:.3g}")
EOF
rm -rf "$tmp"
