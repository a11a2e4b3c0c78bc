#!/usr/bin/env python3
"""How much of small text survives a camera, and how much of it an upscaler passes on.

Camera-degraded blocks of train_sr.py's training text (``text_blocks``; a text seed the training runs do not
use, the training fonts, never the benchmark's) are read glyph by glyph, per cap height:

- the camera's own LR (bicubic-enlarged), by a ``GlyphReader`` trained on such LR from other blocks: what
  the input still holds, for a reader that has learnt these cameras;
- the original HR, bicubic and each weight file's output, by a ``GlyphReader`` trained on the clean HR
  (the judge of ``train_sr.py --read-weight``): what each method draws legibly.

Glyph classification in known fonts, not OCR: a diagnostic beside tools/sr_legibility.py, not a benchmark.

    python tools/sr_glyph_reading.py --scale 3 vidclear/models/weights/espcn_x3_cctv.pt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from train_sr import PatchSampler, sr_network_from_file  # noqa: E402
from vidclear.table import print_columns  # noqa: E402
from vidclear.training.glyphs import glyph_crops, named, train_reader  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", type=Path, nargs="*", help="plain ESPCN state dicts")
    ap.add_argument("--scale", type=int, required=True, choices=(2, 3, 4))
    ap.add_argument("--train-blocks", type=int, default=1500, help="text blocks the readers learn from")
    ap.add_argument("--variants", type=int, default=3, help="camera-degraded copies of each of them")
    ap.add_argument("--test-blocks", type=int, default=300, help="other text blocks, read once each")
    ap.add_argument("--heights", type=int, nargs=2, default=(3, 9), help="cap heights, LR pixels")
    ap.add_argument("--steps", type=int, default=3000, help="training steps of each reader")
    ap.add_argument("--batches", type=int, default=20, help="batches of 64 patches read per method")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    t0 = time.time()
    heights = tuple(args.heights)
    train = PatchSampler([], args.scale, 24, 0.0, args.seed, degradation="camera", variants=args.variants,
                         text_images=args.train_blocks, text_heights=heights)
    test = PatchSampler([], args.scale, 24, 0.0, args.seed + 100, degradation="camera", variants=1,
                        text_images=args.test_blocks, text_heights=heights)
    print(f"{len(train.pairs)} training and {len(test.pairs)} test blocks, x{args.scale}, camera "
          f"({time.time() - t0:.0f} s)", flush=True)

    def enlarge(lr: torch.Tensor) -> torch.Tensor:
        return F.interpolate(lr, scale_factor=args.scale, mode="bicubic", align_corners=False)

    def log(line: str) -> None:
        print(f"  {line}", flush=True)

    print("reader of the camera's LR:", flush=True)
    lr_reader = train_reader(lambda: (lambda lr, _, g: (enlarge(lr), g))(*train.batch(32, glyphs=True)),
                             args.steps, args.seed + 1, log, soft=False)
    print("reader of clean glyphs:", flush=True)
    clean_reader = train_reader(lambda: train.batch(32, glyphs=True)[1:], args.steps, args.seed + 2, log)

    methods = {"camera LR (LR-trained reader)": (lr_reader, enlarge), "original HR": (clean_reader, None),
               "bicubic": (clean_reader, enlarge)}
    for path in args.weights:
        methods[str(path)] = (clean_reader, sr_network_from_file(path, args.scale))
    batches = [test.batch(64, glyphs=True) for _ in range(args.batches)]
    caps = torch.cat([(g[:, 3] / args.scale).round() for _, _, g in batches])
    rows = []
    for name, (reader, upscale) in methods.items():
        with torch.no_grad():
            right = torch.cat([named(reader, glyph_crops(hr if upscale is None else upscale(lr), g), g)
                               for lr, hr, g in batches]).float()
        bands = " ".join(f"{int(c)}:{100 * right[caps == c].mean():.1f}" for c in torch.unique(caps))
        rows.append((name, f"{100 * right.mean():.1f}", bands))
    print(f"{len(caps)} glyphs of {args.test_blocks} blocks; {time.time() - t0:.0f} s")
    print_columns(("method", "named %", "by cap height (LR px)"), rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
