#!/usr/bin/env python3
"""Our models vs bicubic vs OpenCV's pretrained ESPCN/FSRCNN, under one protocol.

OpenCV's ``dnn_superres`` lives in opencv-contrib, which clashes with the
opencv-python-headless that vidclear uses (both install ``cv2``), so it runs in
its own virtual environment (``.venv-opencv``, made on first use with
opencv-contrib-python-headless 4.x). The worker scores OpenCV's models with the
same code vidclear eval uses (vidclear.evaluation.sr needs only numpy and cv2).

    python tools/compare_opencv.py [--scales 2 3 4] [--datasets set5 set14] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
MODELS_DIR = DATA / "baselines" / "opencv_superres"
CONTRIB_VENV = ROOT / ".venv-opencv"
CONTRIB_REQ = "opencv-contrib-python-headless>=4.8,<5"


def worker(scales: list[int], datasets: list[str]) -> dict:
    """Runs inside the contrib venv: scores OpenCV's ESPCN and FSRCNN."""
    import cv2
    import numpy as np

    from vidclear.evaluation.metrics import modcrop, psnr, rgb_to_y, shave, ssim
    from vidclear.evaluation.matlab_resize import imresize
    from vidclear.evaluation.sr import list_images, read_rgb

    results = {}
    for algo, prefix in (("espcn", "ESPCN"), ("fsrcnn", "FSRCNN")):
        for scale in scales:
            sr = cv2.dnn_superres.DnnSuperResImpl_create()
            sr.readModel(str(MODELS_DIR / f"{prefix}_x{scale}.pb"))
            sr.setModel(algo, scale)
            for ds in datasets:
                ps, ss = [], []
                for path in list_images(DATA / "sr" / ds):
                    hr = modcrop(read_rgb(path), scale)
                    grey = hr.ndim == 2
                    rgb = np.dstack([hr] * 3) if grey else hr
                    lr = imresize(rgb, 1 / scale)
                    up = sr.upsample(np.ascontiguousarray(lr[..., ::-1]))[..., ::-1]
                    out_y = up[..., 0].astype(np.float64) if grey else rgb_to_y(up)
                    a, b = shave(out_y, scale), shave(rgb_to_y(hr), scale)
                    ps.append(psnr(a, b))
                    ss.append(ssim(a, b))
                results[f"opencv-{algo}-x{scale}/{ds}"] = {"psnr": float(np.mean(ps)), "ssim": float(np.mean(ss))}
    return results


def ensure_contrib_venv() -> Path:
    python = CONTRIB_VENV / "bin" / "python"
    ok = python.exists() and subprocess.run(
        [str(python), "-c", "import cv2; cv2.dnn_superres"], capture_output=True
    ).returncode == 0
    if not ok:
        print(f"compare_opencv: creating {CONTRIB_VENV} with {CONTRIB_REQ}", file=sys.stderr)
        venv.create(CONTRIB_VENV, with_pip=True, clear=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", CONTRIB_REQ, "numpy"], check=True)
    return python


def ours(scales: list[int], datasets: list[str]) -> dict:
    from vidclear.evaluation.run import evaluate
    from vidclear.models.registry import get_model
    from vidclear.errors import VidclearError

    results = {}
    for scale in scales:
        for ds in datasets:
            for name in (f"espcn-x{scale}", f"srcnn-x{scale}"):
                try:
                    get_model(name)
                except VidclearError:
                    continue
                if not get_model(name).weights_path.exists():
                    continue
                r = evaluate(name, DATA / "sr" / ds)
                results[f"{name}/{ds}"] = {"psnr": r.psnr, "ssim": r.ssim}
                results[f"bicubic-x{scale}/{ds}"] = {"psnr": r.baseline_psnr, "ssim": r.baseline_ssim}
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--datasets", nargs="+", default=["set5", "set14"])
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.scales, args.datasets)))
        return 0
    if not MODELS_DIR.is_dir():
        print(f"compare_opencv: OpenCV models not found in {MODELS_DIR}", file=sys.stderr)
        return 2
    python = ensure_contrib_venv()
    cmd = [str(python), __file__, "--worker", "--scales", *map(str, args.scales), "--datasets", *args.datasets]
    theirs = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    results = {**ours(args.scales, args.datasets), **theirs}

    methods = sorted({k.split("/")[0].rsplit("-x", 1)[0] for k in results})
    print("Y PSNR / SSIM, published protocol (MATLAB bicubic LR, BT.601 Y, shave = scale)\n")
    header = "| method | " + " | ".join(f"{ds} x{s}" for ds in args.datasets for s in args.scales) + " |"
    print(header)
    print("|" + "---|" * (1 + len(args.datasets) * len(args.scales)))
    for m in methods:
        cells = []
        for ds in args.datasets:
            for s in args.scales:
                r = results.get(f"{m}-x{s}/{ds}")
                cells.append(f"{r['psnr']:.2f} / {r['ssim']:.4f}" if r else "-")
        print(f"| {m} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
