#!/usr/bin/env python3
"""CUDA correctness and speed of every shipped model through the PyTorch backend.

For each model and precision (fp32, fp16) the CUDA path of
vidclear.backends.torch_backend is compared with a float64 reference computed
on the CPU from fresh random frames (relative error and PSNR in 8-bit units;
frame sizes that are not a multiple of the model's size multiple included),
then timed: end to end through ``TorchBackend.infer`` (host copies included,
what the pipeline sees) and the network alone (CUDA events, input already on
the GPU), at batch 1 and 4, median of many calls after a warm-up.

    python tools/gpu_check.py --json gpu_check.json

Needs a CUDA GPU; prints a markdown table last and exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidclear.backends.base import BackendOptions, median_infer_seconds  # noqa: E402
from vidclear.backends.torch_backend import MIN_FP16_PSNR_DB, TorchBackend  # noqa: E402
from vidclear.models.registry import ModelSpec, get_model  # noqa: E402

MODELS = ("espcn-x2", "espcn-x3", "espcn-x4", "srcnn-x3", "lowlight")
# Input sizes (height, width) timed per task: a small camera stream and a larger one.
SIZES = {"sr": ((360, 640), (720, 1280)), "lowlight": ((480, 640), (1080, 1920))}
MIN_FP32_PSNR_DB = 60.0  # TF32 convolutions stay far above this; a wrong kernel falls far below


def psnr_8bit(out: np.ndarray, ref: np.ndarray) -> float:
    mse = float(np.mean((np.clip(out, 0, 1) * 255 - np.clip(ref, 0, 1) * 255) ** 2))
    return 100.0 if mse == 0 else 10 * np.log10(255**2 / mse)


def reference(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return spec.load().double()(torch.from_numpy(x).double()).numpy()


def check(spec: ModelSpec, backend: TorchBackend, rng: np.random.Generator) -> dict:
    """Worst relative error and PSNR over random frames of awkward sizes."""
    worst_rel, worst_psnr, finite = 0.0, 100.0, True
    for h, w in ((97, 131), (64, 80), (180, 320)):
        x = rng.random((2, spec.input_channels, h, w), dtype=np.float32)
        if spec.task == "lowlight":
            x *= rng.uniform(0.02, 0.3)  # dark frames, as the model sees them
        out, ref = backend.infer(x), reference(spec, x)
        finite &= bool(np.isfinite(out).all())
        assert out.shape == ref.shape, (out.shape, ref.shape)
        worst_rel = max(worst_rel, float(np.linalg.norm(out - ref) / np.linalg.norm(ref)))
        worst_psnr = min(worst_psnr, psnr_8bit(out, ref))
    return {"rel_error": worst_rel, "psnr_vs_fp64": float(worst_psnr), "finite": finite}


@torch.inference_mode()
def time_network(backend: TorchBackend, x: np.ndarray, calls: int) -> float:
    """Median seconds of the network alone on an input already on the GPU."""
    t = torch.from_numpy(x).cuda()
    t = (t.half() if backend.half else t).contiguous(memory_format=torch.channels_last)
    for _ in range(5):
        backend.model(t)
    torch.cuda.synchronize()
    times = []
    for _ in range(calls):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        backend.model(t)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--calls", type=int, default=30, help="timed calls per measurement")
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu_check: torch reports no CUDA device", file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = True  # fixed frame sizes, as in a video pipeline
    info = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "python": platform.python_version()}
    print("gpu_check:", json.dumps(info), flush=True)
    rng = np.random.default_rng(0)
    rows, failures = [], []
    for name in args.models:
        spec = get_model(name)
        for precision in ("fp32", "fp16"):
            backend = TorchBackend(spec, "cuda", BackendOptions(precision=precision))
            row = {"model": name, "precision": precision, **check(spec, backend, rng)}
            floor = MIN_FP32_PSNR_DB if precision == "fp32" else MIN_FP16_PSNR_DB
            row["ok"] = bool(row["finite"] and row["psnr_vs_fp64"] >= floor)
            if not row["ok"]:
                failures.append(f"{name} {precision}: {row['psnr_vs_fp64']:.1f} dB from fp64 (< {floor})")
            for h, w in SIZES[spec.task]:
                for batch in (1, 4):
                    x = rng.random((batch, spec.input_channels, h, w), dtype=np.float32)
                    e2e = median_infer_seconds(backend, x, args.calls, warmup=5)
                    net = time_network(backend, x, args.calls)
                    row[f"{w}x{h} b{batch}"] = {"fps_end_to_end": batch / e2e, "fps_network": batch / net}
            rows.append(row)
            print(json.dumps(row), flush=True)
            del backend
            torch.cuda.empty_cache()
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": rows}, indent=1))
    print(f"\n{info['gpu']}, torch {info['torch']}: frames/s end to end (network alone); worst PSNR vs fp64")
    for task in ("sr", "lowlight"):
        task_rows = [r for r in rows if get_model(r["model"]).task == task]
        if not task_rows:
            continue
        sizes = [k for k in task_rows[0] if " b" in k]
        print("| model | precision | vs fp64 | " + " | ".join(sizes) + " |")
        print("|---" * (3 + len(sizes)) + "|")
        for r in task_rows:
            cells = [f"{r[s]['fps_end_to_end']:.0f} ({r[s]['fps_network']:.0f})" for s in sizes]
            print(f"| {r['model']} | {r['precision']} | {r['psnr_vs_fp64']:.1f} dB | " + " | ".join(cells) + " |")
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
