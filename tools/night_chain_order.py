#!/usr/bin/env python3
"""Where the denoiser goes in the night chain: before the low-light model, or after it?

Scores, on a paired low-light set (low/, high/; default the shared synthetic_set14),
the low-light model alone, the denoiser then the low-light model, and the low-light
model then the denoiser: RGB PSNR / SSIM, and the same after scaling each output to
the ground truth's mean (GT-mean), which takes the brightness guess out. The chain
ships in the order that scores better (docs/models.md).

    python tools/night_chain_order.py [--lowlight lowlight] [--denoise denoise] [DATASET]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidclear.evaluation.lowlight import load_lowlight_pairs, score_lowlight  # noqa: E402
from vidclear.evaluation.run import rgb_model_enhancer  # noqa: E402
from vidclear.models.registry import get_model  # noqa: E402
from vidclear.shared_data import SHARED_DATA  # noqa: E402
from vidclear.table import print_columns  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path, nargs="?", default=SHARED_DATA / "lowlight" / "synthetic_set14")
    ap.add_argument("--lowlight", default="lowlight")
    ap.add_argument("--denoise", default="denoise")
    args = ap.parse_args()
    pairs = load_lowlight_pairs(args.dataset)
    light = rgb_model_enhancer(get_model(args.lowlight))
    clean = rgb_model_enhancer(get_model(args.denoise))
    chains = {
        f"{args.lowlight}": light,
        f"{args.denoise} then {args.lowlight}": lambda low: light(np.clip(clean(low), 0, 1)),
        f"{args.lowlight} then {args.denoise}": lambda low: np.clip(clean(light(low)), 0, 1),
    }
    rows = []
    for name, run in chains.items():
        s = score_lowlight(pairs, run)
        rows.append([name, f"{s.psnr:.2f}", f"{s.ssim:.4f}", f"{s.psnr_gtmean:.2f}", f"{s.ssim_gtmean:.4f}"])
    print(f"{args.dataset.name}: {len(pairs)} images, RGB")
    print_columns(["chain", "PSNR dB", "SSIM", "GT-mean PSNR dB", "GT-mean SSIM"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
