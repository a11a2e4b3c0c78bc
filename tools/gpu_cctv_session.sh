#!/usr/bin/env bash
# espcn-x3-cctv candidates on a lent GPU, in one call (its time is short and counted): six recipes at
# once on the one GPU, each a train_sr.py run on the camera pairs of a pack made here
# (train_sr.py --pack-out: the GPU machine has no PyAV, no fonts and no ../shared). Each candidate
# writes its folded weights to OUT_DIR/NAME.pt and its log to OUT_DIR/NAME.log; they are judged here,
# on the legibility seeds and the held-out tenth (docs/legibility-experiments.md), never there.
# Usage, from the repository root on the GPU machine:
#   tools/gpu_cctv_session.sh carry/cctv_x3_pack.npz OUT_DIR [NAME ...]
# STEPS_SCALE multiplies every candidate's steps (0.02 measures the rates); DEVICE=cpu rehearses it here.
# Checkpoints and glyph readers go to WORK (default /tmp/cctv_work), not OUT_DIR: the device tool brings
# back at most 8 files and none over its size limit, so bring back `tar czf $OUT/g.tgz -C OUT_DIR .`
# (weights and logs, well under a megabyte); a tar of the work folders (23 MB) did not come back.
set -u
pack=$1 out=$2
shift 2
scale_steps=${STEPS_SCALE:-1} device=${DEVICE:-cuda} work=${WORK:-/tmp/cctv_work}
clean=vidclear/models/weights/espcn_x3.pt cctv=vidclear/models/weights/espcn_x3_cctv.pt
export PYTHONUNBUFFERED=1
mkdir -p "$out" "$work"
exec > >(tee -a "$out/session.log") 2>&1
[ "$device" = cuda ] && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 -c "import torch; print('torch', torch.__version__)"

steps() { python3 -c "print(max(20, round($1 * $scale_steps)))"; }

# run NAME INIT STEPS LR SEED [extra train_sr.py options...]: one candidate, OUT_DIR/NAME.pt. Each is one
# run with the reading loss from its first step: every process start loads the pack and trains a glyph
# reader (about a minute there, measured), so chains of short stages spend the call on that.
run() {
    local name=$1 init=$2 count=$3 lr=$4 seed=$5
    shift 5
    python3 tools/train_sr.py --scale 3 --pack "$pack" --ssim-weight 0.3 --read-weight 0.03 --batch 32 \
        --threads 2 --device "$device" --val-every 1000 --ckpt-every 2000 --init "$init" \
        --steps "$(steps "$count")" --lr "$lr" --seed "$seed" --work-dir "$work/$name" --out "$work/$name.pt" "$@" &&
    cp "$work/$name.pt" "$out/$name.pt"
}

candidate() {
    case $1 in
        G1) run G1 "$cctv" 16000 1e-4 301 ;;                 # the shipped weights, further
        G2) run G2 "$cctv" 16000 2e-4 302 ;;                 # the same, a larger step
        G3) run G3 "$clean" 16000 5e-4 303 ;;                # from the GPU-trained clean weights
        G4) run G4 "$clean" 16000 5e-4 304 --expand 2 ;;     # the same, reparameterised
        G5) run G5 "$cctv" 16000 1e-4 305 --expand 2 ;;      # the shipped weights, reparameterised
        G6) run G6 "$cctv" 10000 1.5e-4 306 --batch 64 ;;    # twice the batch
        *) echo "no candidate $1"; return 2 ;;
    esac
}

names=("$@")
[ ${#names[@]} -eq 0 ] && names=(G1 G2 G3 G4 G5 G6)
start=$(date +%s)
pids=()
for name in "${names[@]}"; do
    candidate "$name" > "$out/$name.log" 2>&1 &
    pids+=($!)
done
wait "${pids[@]}"  # not a bare wait: that would also wait for the tee above
for name in "${names[@]}"; do
    echo "== $name: $(grep -c '^step' "$out/$name.log") progress lines; last: $(grep '^step\|sha256\|rror' "$out/$name.log" | tail -1)"
done
echo "all ${#names[@]} candidates ended after $(($(date +%s) - start)) s"
