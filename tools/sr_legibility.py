#!/usr/bin/env python3
"""Read candidate ESPCN weight files on the legibility benchmark, to choose between them.

The same strings, degradation and OCR as ``vidclear eval legibility``
(vidclear/evaluation/legibility.py), but for weight files not yet in the
registry. Choose on a seed the benchmark does not report (``--seed 1``): the
published figures are seed 0, run once on the chosen weights.

    python tools/sr_legibility.py --scale 3 --seed 1 vidclear/models/weights/espcn_x3_cctv.pt /tmp/new.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from train_sr import sr_upscaler  # noqa: E402
from vidclear.evaluation.legibility import check_ocr, degraded_samples, score, upscaled  # noqa: E402
from vidclear.evaluation.matlab_resize import imresize  # noqa: E402
from vidclear.table import print_columns  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", type=Path, nargs="+", help="weight files train_sr.py writes (ESPCN or --arch srgan)")
    ap.add_argument("--scale", type=int, required=True, choices=(2, 3, 4))
    ap.add_argument("--degradation", choices=("clean", "camera"), default="camera")
    ap.add_argument("--strings", type=int, default=240)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--output-mean", action="store_true",
                    help="also read the mean of all the weights' outputs (an ensemble: what averaging could give)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    samples = degraded_samples(args.scale, args.degradation, args.strings, args.seed)
    print(f"{args.strings} strings, seed {args.seed}, x{args.scale}, {args.degradation}; {check_ocr()}")
    methods = {"bicubic": lambda y: imresize(y, args.scale)}
    for path in args.weights:
        methods[str(path)] = sr_upscaler(path, args.scale)
    if args.output_mean:
        each = [methods[str(path)] for path in args.weights]
        methods["mean of the outputs"] = lambda y: np.mean([fn(y) for fn in each], axis=0)
    rows = []
    for name, fn in methods.items():
        result = score(samples, upscaled(samples, fn))
        bands = " ".join(f"{h}:{r['char_acc']:.1f}" for h, r in result["by_height"].items())
        rows.append((name, f"{result['char_acc']:.2f}", f"{result['string_acc']:.2f}", bands))
        print(json.dumps({"method": name, **result}), file=sys.stderr)
    print_columns(("weights", "char %", "string %", "char % by cap height (LR px)"), rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
