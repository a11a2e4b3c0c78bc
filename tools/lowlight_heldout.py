#!/usr/bin/env python3
"""Score low-light weight files on the held-out training images, never on the test set.

The tenth of T91 + BSD200 that tools/fit_brightness_head.py and
tools/tune_lowlight_whole.py hold out, at half size (or --size full), darkened with the wide
training ranges and with the evaluation set's narrower parameters; plain and
GT-mean RGB PSNR, averaged over images and draws. Compares candidates without
looking at synthetic_set14.

    python tools/lowlight_heldout.py vidclear/models/weights/lowlight.pt /tmp/other.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidclear.models.lowlight import LowLightNet  # noqa: E402
from vidclear.training.degrade import EVAL_RANGES, DegradeRanges  # noqa: E402
from vidclear.training.loop import seed_everything  # noqa: E402
from vidclear.training.whole_images import (  # noqa: E402
    add_size_argument,
    add_whole_image_arguments,
    held_out_samples,
    score,
    whole_images,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", type=Path, nargs="+")
    ap.add_argument("--draws", type=int, default=4, help="degraded draws per held-out image")
    add_whole_image_arguments(ap)
    add_size_argument(ap)
    ap.set_defaults(seed=123)  # draws other than the tuning tool's own held-out draws (its seed is 0)
    args = ap.parse_args(argv)
    seed_everything(args.seed, args.threads)

    _, held_out = whole_images("lowlight_heldout", args.data)
    models = {}
    for path in args.weights:
        models[path] = LowLightNet().eval()
        models[path].load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    print(f"{len(held_out)} held-out images x {args.draws} draws (seed {args.seed}, {args.size} size); RGB PSNR dB, plain / GT-mean")
    print("| weights | wide (training) ranges | evaluation set's parameters |\n|---|---|---|")
    rows = {path: [] for path in models}
    for ranges in (DegradeRanges(), EVAL_RANGES):
        gen = torch.Generator().manual_seed(args.seed)
        samples = held_out_samples(held_out, ranges, args.draws, gen, args.size)
        for path, model in models.items():
            rows[path].append("{:.3f} / {:.3f}".format(*score(model, samples)))
    for path, cells in rows.items():
        print(f"| {path} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
