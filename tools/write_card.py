#!/usr/bin/env python3
"""Write a model card from measurements, never from memory.

Evaluates the model with ``vidclear eval`` on the standard sets, measures its
CPU speed at a stated frame size, and writes ``vidclear/models/weights/NAME.md``
with the data, the exact training command, the seed and the sha256.

    python tools/write_card.py espcn-x3 --command "python tools/train_sr.py ..." --seed 0 --train-seconds 1650
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidclear.backends.base import median_infer_seconds, usable_cores  # noqa: E402
from vidclear.evaluation.run import evaluate  # noqa: E402
from vidclear.models.registry import get_model  # noqa: E402
from vidclear.shared_data import SHARED_DATA  # noqa: E402

# CUDA figures of every model, from the one lent GPU machine (tools/gpu_session.sh).
GPU_CHECK = ROOT / "docs" / "measurements" / "gpu_check_h100_2026-11-26.json"


def cpu_fps(name: str, height: int, width: int, frames: int = 10) -> dict:
    """Model-only speed with ONNX Runtime and PyTorch on this CPU (median of `frames` runs)."""
    from vidclear.backends.onnxruntime_backend import OnnxRuntimeBackend
    from vidclear.backends.torch_backend import TorchBackend

    spec = get_model(name)
    x = np.random.default_rng(0).random((1, spec.input_channels, height, width), dtype=np.float32) * 0.5
    out = {}
    for cls in (OnnxRuntimeBackend, TorchBackend):  # one at a time: their thread pools fight (docs/performance.md, CPU inference)
        backend = cls(spec, "cpu")
        out[cls.name] = 1 / median_infer_seconds(backend, x, frames)
        del backend
    return out


def gpu_section(path: Path, model: str) -> list[str]:
    """The card's GPU lines, from a tools/gpu_check.py JSON file (measured on a lent GPU machine)."""
    data = json.loads(path.read_text())
    rows = [r for r in data["rows"] if r["model"] == model]
    if not rows:
        return []
    m = data["machine"]
    shown = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
    lines = [f"## GPU speed and correctness ({m['gpu']}, torch {m['torch']}, `tools/gpu_check.py`, "
             f"`{shown.as_posix()}`)", "",
             "Frames/s through the PyTorch backend end to end (float32 frames from and to host memory), and the "
             "network alone in brackets; the worst PSNR of its output against a float64 CPU reference.", ""]
    for r in rows:
        sizes = "; ".join(f"{k.replace(' b', ' batch ')}: {v['fps_end_to_end']:.0f} ({v['fps_network']:.0f})"
                          for k, v in r.items() if isinstance(v, dict))
        lines.append(f"- {r['precision']}, {r['psnr_vs_fp64']:.1f} dB from fp64: {sizes}.")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--command", required=True, help="the exact training command")
    ap.add_argument("--seed", default="0", help="the seed(s) of the training command(s)")
    ap.add_argument("--train-seconds", type=float, help="wall time the training took")
    ap.add_argument("--train-machine", default="the 2-core development CPU (no GPU)")
    ap.add_argument("--notes", default="")
    ap.add_argument("--data", help="what the data line says instead (models trained on other degradations)")
    ap.add_argument("--fps-size", default="480x640", help="HxW for the CPU speed figure")
    ap.add_argument("--gpu-check", type=Path, default=GPU_CHECK,
                    help="tools/gpu_check.py JSON whose figures for this model the card quotes")
    args = ap.parse_args()

    spec = get_model(args.model)
    weights = spec.weights_path
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    rows = []
    if spec.task == "lowlight":
        r = evaluate(spec.name, SHARED_DATA / "lowlight" / "synthetic_set14")
        rows.append(
            f"| synthetic_set14 (RGB) | {r.psnr:.3f} / {r.ssim:.4f} | {r.extra['psnr_gtmean']:.3f} / "
            f"{r.extra['ssim_gtmean']:.4f} | {r.baseline_psnr:.2f} / {r.baseline_ssim:.4f} |"
        )
        table = ["| set | PSNR / SSIM | GT-mean PSNR / SSIM | low input |", "|---|---|---|---|", *rows]
    elif spec.task == "denoise":
        table = evaluate(spec.name, SHARED_DATA / "sr" / "set14").table().splitlines()
    else:
        for ds in ("set5", "set14"):
            r = evaluate(spec.name, SHARED_DATA / "sr" / ds)
            rows.append(f"| {ds} x{spec.scale} | {r.psnr:.2f} / {r.ssim:.4f} | {r.baseline_psnr:.2f} / {r.baseline_ssim:.4f} |")
        table = ["| set | ours Y PSNR / SSIM | bicubic (MATLAB) |", "|---|---|---|", *rows]
    h, w = (int(v) for v in args.fps_size.split("x"))
    fps = cpu_fps(spec.name, h, w)
    desc = spec.describe()
    card = [
        f"# Model card: {spec.name}",
        "",
        f"- Task: {spec.task}, scale x{spec.scale}; architecture: {spec.architecture}.",
        f"- Parameters: {desc['params']}; FLOPs per input pixel: {desc['flops_per_input_pixel']}.",
        f"- Weights: `{weights.name}`, sha256 `{digest}` (checked on load, `weights_only=True`).",
        "- Data: `../shared/data/sr/train_t91` (91 images) + `train_bsd200` (200 images); "
        + (args.data or ("low-light pairs made on the fly by `vidclear/training/degrade.py` (ranges wider than the "
                         "evaluation set's)." if spec.task == "lowlight" else
                         "noisy copies made by `vidclear/evaluation/noise.py`." if spec.task == "denoise" else
                         "LR made with the MATLAB-compatible bicubic of the evaluation protocol.")),
        f"- Training command (seed {args.seed}), run from the repository root:",
        "",
        "```",
        args.command,
        "```",
        "",
        f"- Trained on {args.train_machine}" + (f" in {args.train_seconds:.0f} s." if args.train_seconds else "."),
        "",
        "## Metrics (`vidclear eval`, measured by tools/write_card.py)",
        "",
        *table,
        "",
        f"## CPU speed, model only, {w}x{h} input, {platform.processor() or platform.machine()}, "
        f"{usable_cores()} cores",
        "",
        f"- ONNX Runtime: {fps['onnxruntime']:.1f} fps; PyTorch (channels_last): {fps['torch']:.1f} fps.",
    ]
    if args.gpu_check and args.gpu_check.exists():
        card += ["", *gpu_section(args.gpu_check, spec.name)]
    if args.notes:
        card += ["", "## Notes", "", args.notes]
    out = weights.with_suffix(".md")
    out.write_text("\n".join(card) + "\n")
    print("\n".join(card))
    print(f"\nsha256 {digest}  -> put it in vidclear/models/registry.py", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
