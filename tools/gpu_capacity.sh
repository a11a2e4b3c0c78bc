#!/usr/bin/env bash
# The capacity checks on a lent CUDA machine, in one call (its time is short and counted):
#   the network alone (tools/gpu_network.py), NVDEC decode speed (tools/nvdec_probe.py), the NVENC
#   probe of codec: auto, `vidclear bench --device cuda` (a x3 file 360p -> 1080p end to end against
#   x264 ultrafast alone) and `vidclear bench --capacity --device cuda` (720p x2 cameras at 25 fps).
# Usage, from the repository root on the GPU machine (PyAV and the other missing wheels installed first):
#   tools/gpu_capacity.sh DATA_DIR OUT_DIR
# DATA_DIR holds clips/ and sr/set5 in the layout of ../shared/data (../shared does not travel).
set -u
data=$1 out=$2
export PYTHONUNBUFFERED=1
mkdir -p "$out"
if [ ! -d ../shared/data/clips ]; then mkdir -p ../shared/data && cp -r "$data"/. ../shared/data/; fi
car=../shared/data/clips/car_traffic_small_640x360.mp4
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv
python3 -c "import torch, av; print('torch', torch.__version__, 'av', av.__version__)"
echo "== network alone"
python3 tools/gpu_network.py --json "$out/network.json" 2>&1 | tail -n 8
echo "== NVDEC"
python3 tools/demo_clip.py /tmp/c1080.mp4 --width 1920 --height 1080 --fps 25 --frames 250
python3 tools/demo_clip.py /tmp/c720.mp4 --width 1280 --height 720 --fps 25 --frames 250
python3 tools/nvdec_probe.py "$car" /tmp/c1080.mp4 --json "$out/nvdec.json"
echo "== codec auto"
python3 -m vidclear enhance "$car" /tmp/auto.mp4 --model espcn-x3 --codec auto --max-frames 10 2>&1 | grep -E "encoder|output:|error"
echo "== bench --device cuda"
python3 -m vidclear bench --device cuda --clip "$car" --model espcn-x3 --frames 300 --no-peers \
    --json "$out/bench_cuda.json" --quiet 2>&1 | tail -n 16
echo "== capacity 720p x2 at 25 fps"
timeout 330 python3 -m vidclear bench --capacity --device cuda --clip /tmp/c720.mp4 --model espcn-x2 --seconds 6 \
    --max-streams 32 --preset ultrafast --json "$out/capacity.json" 2>&1 | grep -E "capacity|\|" | tail -n 30
