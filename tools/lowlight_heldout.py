#!/usr/bin/env python3
"""Score low-light weight files on the held-out training images, never on the test set.

The tenth of T91 + BSD200 that tools/fit_brightness_head.py and
tools/tune_lowlight_whole.py hold out, at half size, darkened with the wide
training ranges and with the evaluation set's narrower parameters; plain and
GT-mean RGB PSNR, averaged over images and draws. Compares candidates without
looking at synthetic_set14.

    python tools/lowlight_heldout.py vidclear/models/weights/lowlight.pt /tmp/other.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.fit_brightness_head import whole_images  # noqa: E402
from tools.train_lowlight import DATA  # noqa: E402
from tools.tune_lowlight_whole import half, to_tensor  # noqa: E402
from vidclear.models.lowlight import LowLightNet  # noqa: E402
from vidclear.training.degrade import EVAL_RANGES, DegradeRanges, degrade  # noqa: E402


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return -10 * float(np.log10(max(F.mse_loss(a, b).item(), 1e-10)))


@torch.no_grad()
def score(model: LowLightNet, samples: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, float]:
    """Mean plain and GT-mean PSNR (the output scaled to the clean image's mean first, as vidclear eval does)."""
    plain, gtmean = [], []
    for low, clean in samples:
        out = model(low).clamp(0, 1)
        plain.append(psnr(out, clean))
        gtmean.append(psnr((out * clean.mean() / out.mean().clamp_min(1e-6)).clamp(0, 1), clean))
    return float(np.mean(plain)), float(np.mean(gtmean))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", type=Path, nargs="+")
    ap.add_argument("--draws", type=int, default=4, help="degraded draws per held-out image")
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    _, held_out = whole_images(args.data)
    clean = [to_tensor(half(im)) for im in held_out]
    models = {}
    for path in args.weights:
        models[path] = LowLightNet().eval()
        models[path].load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    print(f"{len(clean)} held-out images x {args.draws} draws (seed {args.seed}); RGB PSNR dB, plain / GT-mean")
    print("| weights | wide (training) ranges | evaluation set's parameters |\n|---|---|---|")
    rows = {path: [] for path in models}
    for ranges in (DegradeRanges(), EVAL_RANGES):
        gen = torch.Generator().manual_seed(args.seed)
        samples = [(degrade(c, ranges, gen), c) for c in clean for _ in range(args.draws)]
        for path, model in models.items():
            rows[path].append("{:.3f} / {:.3f}".format(*score(model, samples)))
    for path, cells in rows.items():
        print(f"| {path} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
