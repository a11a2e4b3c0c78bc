#!/usr/bin/env python3
"""Score ESPCN weight files on the held-out tenth of the training images, never on Set5.

The tenth is every 10th image of T91 + BSD200 in sorted order (``split_tenth``),
the images ``train_sr.py --hold-out-tenth`` leaves out. ``clean``: the published
protocol (MATLAB-bicubic LR, Y PSNR, shave = scale). ``camera``: the LR through
cameras drawn at random from the training range (vidclear/evaluation/degrade.py),
seeded, ``--draws`` times over; the HR is the clean image. New weights are shipped
only if they beat the current ones here. Weights trained on all images (the
shipped ones) have seen these images, so a win against them is a conservative one.

    python tools/sr_heldout.py --scale 3 vidclear/models/weights/espcn_x3.pt /tmp/new/espcn_x3.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from train_sr import sr_upscaler  # noqa: E402
from vidclear.evaluation.degrade import CameraModel, camera_degrade  # noqa: E402
from vidclear.evaluation.sr import SRPair, bicubic_upscaler, make_pair, read_rgb, score_sr  # noqa: E402
from vidclear.shared_data import SHARED_DATA  # noqa: E402
from vidclear.table import print_columns  # noqa: E402
from vidclear.training.loop import seed_everything, split_tenth, training_images  # noqa: E402


def held_out_pairs(data: Path, scale: int, degradation: str, draws: int, seed: int) -> list[SRPair]:
    """(LR, HR) luma pairs of the held-out tenth: the protocol's LR, or ``draws`` camera-degraded ones each."""
    paths = split_tenth(training_images("sr_heldout", data))[1]
    pairs = [make_pair(read_rgb(p), scale, p.stem) for p in paths]
    if degradation == "clean":
        return pairs
    rng = np.random.default_rng(seed)
    out = []
    for draw in range(draws):
        for i in range(0, len(pairs), 8):
            group = pairs[i:i + 8]
            lrs = camera_degrade([p.hr_y for p in group], scale, rng, CameraModel.random(rng))
            out += [SRPair(f"{p.name}#{draw}", p.hr_y, lr.astype(np.float64)) for p, lr in zip(group, lrs)]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", type=Path, nargs="+",
                    help="weight files train_sr.py writes (folded ESPCN, or --arch srgan)")
    ap.add_argument("--scale", type=int, required=True, choices=(2, 3, 4))
    ap.add_argument("--degradation", choices=("clean", "camera"), default="clean")
    ap.add_argument("--draws", type=int, default=3, help="camera: degraded copies of each held-out image")
    ap.add_argument("--seed", type=int, default=123, help="camera: the cameras and their noise")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "sr")
    args = ap.parse_args(argv)
    seed_everything(0, args.threads)

    pairs = held_out_pairs(args.data, args.scale, args.degradation, args.draws, args.seed)
    rows = [("bicubic", f"{score_sr(pairs, args.scale, bicubic_upscaler(args.scale), with_ssim=False).psnr:.3f}")]
    for path in args.weights:
        score = score_sr(pairs, args.scale, sr_upscaler(path, args.scale), with_ssim=False)
        rows.append((str(path), f"{score.psnr:.3f}"))
    print(f"held-out tenth of T91 + BSD200: {len(pairs)} pairs, x{args.scale}, {args.degradation}"
          + (f" (seed {args.seed})" if args.degradation == "camera" else ""))
    print_columns(("weights", "Y PSNR dB"), rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
