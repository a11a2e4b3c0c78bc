#!/usr/bin/env bash
# The whole pipeline on a lent CUDA machine (PyAV travels as a wheel; ../shared does not travel, so the
# clips and Set5 come in DATA_DIR and are put where vidclear looks for them). Usage, from the repository root:
#   tools/gpu_pipeline.sh DATA_DIR OUT_DIR
# DATA_DIR holds clips/ and sr/set5 in the layout of ../shared/data.
# DEVICE and FRAMES override the defaults (a quick CPU rehearsal: DEVICE=cpu FRAMES=5).
set -u
data=$1 out=$2 device=${DEVICE:-cuda} frames=${FRAMES:-300}
export PYTHONUNBUFFERED=1
mkdir -p "$out"
if [ ! -d ../shared/data/clips ]; then mkdir -p ../shared/data && cp -r "$data"/. ../shared/data/; fi
run() { echo "\$ vidclear $*"; python3 -m vidclear "$@"; echo "exit status $?"; }
car=../shared/data/clips/car_traffic_small_640x360.mp4
pets=../shared/data/clips/pets2009_s2l1_480x360_h264.avi
run enhance "$car" "$out/car_x3.mp4" --model espcn-x3 --device "$device" --max-frames "$frames" \
    --summary-json "$out/car_x3.json"
run enhance "$pets" "$out/pets_night_x2.mp4" --config configs/night-x2.yaml --device "$device" \
    --max-frames "$frames" --summary-json "$out/pets_night_x2.json"
# night mode on a 1080p input: the x3 output of the car clip
run enhance "$out/car_x3.mp4" "$out/car_x3_lowlight.mp4" --model lowlight --device "$device" \
    --max-frames "$frames" --summary-json "$out/car_x3_lowlight.json"
run bench --device "$device" --model espcn-x3 --frames $((frames < 120 ? frames : 120)) --no-peers --json "$out/bench_cuda.json" \
    --markdown "$out/bench_cuda.md"
rm -f "$out"/*.mp4  # the videos stay there; their summaries come back
