#!/usr/bin/env python3
"""Our models vs bicubic vs OpenCV's pretrained ESPCN/FSRCNN, under one protocol.

OpenCV's ``dnn_superres`` runs in its own environment (see
vidclear/evaluation/opencv_peer.py) and is scored with the same protocol code.

    python tools/compare_opencv.py [--scales 2 3 4] [--datasets set5 set14] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from vidclear.evaluation.opencv_peer import MODELS_DIR, run_peer  # noqa: E402
from vidclear.shared_data import SHARED_DATA  # noqa: E402


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
                r = evaluate(name, SHARED_DATA / "sr" / ds)
                results[f"{name}/{ds}"] = {"psnr": r.psnr, "ssim": r.ssim}
                results[f"bicubic-x{scale}/{ds}"] = {"psnr": r.baseline_psnr, "ssim": r.baseline_ssim}
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--datasets", nargs="+", default=["set5", "set14"])
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if not MODELS_DIR.is_dir():
        print(f"compare_opencv: OpenCV models not found in {MODELS_DIR}", file=sys.stderr)
        return 2
    theirs = run_peer("score", algos=["espcn", "fsrcnn"], scales=args.scales, datasets=args.datasets)
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
