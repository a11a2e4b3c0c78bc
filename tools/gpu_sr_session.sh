#!/usr/bin/env bash
# The clean ESPCN models on a lent GPU, in one call (its time is short and counted): for each scale
# a warm start from the shipped weights and a run from scratch, all six at once on the one GPU, each
# writing its best folded weights (by the held-out tenth) and its log lines as it goes.
# Usage, from the repository root on the GPU machine (carry/sr_y.npz from `train_sr_gpu.py pack`):
#   tools/gpu_sr_session.sh carry/sr_y.npz OUT_DIR
# SECONDS_EACH is each run's training time (default 390); DEVICE=cpu with LIMIT=20 rehearses it here.
set -u
data=$1 out=$2
seconds=${SECONDS_EACH:-390} device=${DEVICE:-cuda} limit=${LIMIT:-0}
export PYTHONUNBUFFERED=1
mkdir -p "$out"
exec > >(tee "$out/session.log") 2>&1
[ "$device" = cuda ] && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 -c "import torch; print('torch', torch.__version__, 'cudnn', torch.backends.cudnn.version(), 'tf32', torch.backends.cudnn.allow_tf32)"
start=$(date +%s)
pids=()
for scale in 2 3 4; do
    common=(--data "$data" --scale "$scale" --expand 2 --seconds "$seconds" --mse-from 0.75 --device "$device"
            --limit-images "$limit")
    python3 tools/train_sr_gpu.py train "${common[@]}" --init "vidclear/models/weights/espcn_x$scale.pt" --lr 5e-4 \
        --seed "$scale" --name "x$scale-warm" --out "$out/espcn_x${scale}_warm.pt" &
    pids+=($!)
    python3 tools/train_sr_gpu.py train "${common[@]}" --lr 2e-3 --seed "$((10 + scale))" \
        --name "x$scale-scratch" --out "$out/espcn_x${scale}_scratch.pt" &
    pids+=($!)
done
wait "${pids[@]}"  # not a bare wait: that would also wait for the tee above, which waits for us
echo "all six runs ended after $(($(date +%s) - start)) s"
