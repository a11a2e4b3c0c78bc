#!/usr/bin/env bash
# espcn-x3-cctv candidates on a lent GPU, in one call (its time is short and counted): six recipes at
# once on the one GPU, each a chain of train_sr.py stages on the camera pairs of a pack made here
# (train_sr.py --pack-out: the GPU machine has no PyAV, no fonts and no ../shared). Each candidate
# writes its folded weights to OUT_DIR/NAME.pt and its log to OUT_DIR/NAME.log; they are judged here,
# on the legibility seeds and the held-out tenth (docs/legibility-experiments.md), never there.
# Usage, from the repository root on the GPU machine:
#   tools/gpu_cctv_session.sh carry/cctv_x3_pack.npz OUT_DIR [NAME ...]
# STEPS_SCALE multiplies every stage's steps (0.02 measures the rates); DEVICE=cpu rehearses it here.
set -u
pack=$1 out=$2
shift 2
scale_steps=${STEPS_SCALE:-1} device=${DEVICE:-cuda}
clean=vidclear/models/weights/espcn_x3.pt cctv=vidclear/models/weights/espcn_x3_cctv.pt
export PYTHONUNBUFFERED=1
mkdir -p "$out"
exec > >(tee -a "$out/session.log") 2>&1
[ "$device" = cuda ] && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 -c "import torch; print('torch', torch.__version__)"

steps() { python3 -c "print(max(20, round($1 * $scale_steps)))"; }

# stage NAME N INIT STEPS LR SEED [extra train_sr.py options...]: one stage, NAME.sN.pt
stage() {
    local name=$1 n=$2 init=$3 count=$4 lr=$5 seed=$6
    shift 6
    python3 tools/train_sr.py --scale 3 --pack "$pack" --ssim-weight 0.3 --batch 32 --threads 2 \
        --device "$device" --val-every 1000 --ckpt-every 0 --init "$init" --steps "$(steps "$count")" --lr "$lr" \
        --seed "$seed" --work-dir "$out/work/$name.s$n" --out "$out/work/$name.s$n.pt" "$@"
}

# The shipped recipe's three stages (espcn_x3_cctv.md) from INIT, each N times longer.
recipe() {
    local name=$1 init=$2 n=$3 seed=$4
    shift 4
    stage "$name" 1 "$init" $((10000 * n)) 5e-4 "$seed" "$@" &&
    stage "$name" 2 "$out/work/$name.s1.pt" $((5000 * n)) 2e-4 $((seed + 1)) --read-weight 0.03 "$@" &&
    stage "$name" 3 "$out/work/$name.s2.pt" $((5000 * n)) 1e-4 $((seed + 2)) --read-weight 0.03 \
        --reader "$out/work/$name.s2/glyph_reader.pt" "$@" &&
    cp "$out/work/$name.s3.pt" "$out/$name.pt"
}

candidate() {
    case $1 in
        A) recipe A "$clean" 1 201 ;;                        # the recipe from the GPU-trained clean weights
        B) recipe B "$clean" 3 211 ;;                        # three times longer
        C) recipe C "$clean" 3 221 --expand 2 ;;             # and reparameterised (folded for each stage's file)
        D) stage D 1 "$cctv" 15000 1e-4 231 --read-weight 0.03 && cp "$out/work/D.s1.pt" "$out/D.pt" ;;
        E) stage E 1 "$cctv" 15000 2e-4 241 --read-weight 0.03 &&     # the shipped weights, further
           stage E 2 "$out/work/E.s1.pt" 15000 1e-4 242 --read-weight 0.03 --reader "$out/work/E.s1/glyph_reader.pt" &&
           cp "$out/work/E.s2.pt" "$out/E.pt" ;;
        F) recipe F "$clean" 2 251 --batch 64 ;;             # twice as long with twice the batch
        *) echo "no candidate $1"; return 2 ;;
    esac
}

names=("$@")
[ ${#names[@]} -eq 0 ] && names=(A B C D E F)
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
