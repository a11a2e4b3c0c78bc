#!/usr/bin/env python3
"""The network alone on a CUDA GPU: espcn at 480p, fp16, batch 8, three ways, timed with CUDA events.

    python tools/gpu_network.py [--model espcn-x3] [--json out.json]

eager (channels_last fp16), replayed from a CUDA graph (what the torch backend does), and through
TorchBackend.infer with 8-bit planes in and out of pinned host memory (what the pipeline sees).
Median of 50 timed calls after 10 warm-ups; frames/s = batch / median seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidclear.backends.base import BackendOptions  # noqa: E402
from vidclear.backends.torch_backend import TorchBackend  # noqa: E402
from vidclear.models.registry import get_model  # noqa: E402


def timed(fn, reps: int = 50, warmup: int = 10) -> float:
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="espcn-x3")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--compile", action="store_true", help="also torch.compile (reduce-overhead, max-autotune)")
    args = ap.parse_args()
    spec = get_model(args.model)
    n, h, w = args.batch, args.height, args.width
    model = spec.load().cuda().half().to(memory_format=torch.channels_last).eval()
    x = torch.rand(n, 1, h, w, device="cuda").half().contiguous(memory_format=torch.channels_last)
    rows = {}
    with torch.inference_mode():
        rows["eager"] = n / timed(lambda: model(x))
    backend = TorchBackend(spec, "cuda", BackendOptions(precision="fp16"))
    u8 = torch.randint(0, 256, (n, 1, h, w), dtype=torch.uint8, device="cuda")
    with torch.inference_mode():
        backend._run(u8)  # captures the graph for this shape
        rows["cuda_graph_uint8_on_device"] = n / timed(lambda: backend._run(u8))
    host = np.random.default_rng(0).integers(0, 256, (n, 1, h, w), dtype=np.uint8)
    backend.infer(host)
    t = []
    for _ in range(30):
        start = time.perf_counter()
        backend.infer(host)
        t.append(time.perf_counter() - start)
    rows["backend_infer_uint8_host_to_host"] = n / statistics.median(t)
    if args.compile:
        for mode in ("reduce-overhead", "max-autotune"):
            start = time.perf_counter()
            compiled = torch.compile(model, mode=mode)
            with torch.inference_mode():
                compiled(x)
                rows[f"torch_compile_{mode}"] = n / timed(lambda: compiled(x))
            rows[f"torch_compile_{mode}_compile_s"] = time.perf_counter() - start
            print(mode, rows[f"torch_compile_{mode}"], flush=True)
    report = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "model": spec.name,
              "input": f"{n}x1x{h}x{w}", "precision": "fp16", "frames_per_s": rows}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
