#!/usr/bin/env python3
"""Before/after contact sheet of a low-light model on the real unpaired images.

    python tools/contact_sheet.py lowlight -o vidclear/models/weights/lowlight_contact_sheet.jpg

With ``--denoise MODEL`` a third column shows the night chain with that denoiser after the
model, as the pipeline runs it (input | low-light model | low-light model then denoiser):

    python tools/contact_sheet.py lowlight --denoise denoise -o docs/measurements/night_denoise_sheet.jpg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidclear.evaluation.run import rgb_model_enhancer  # noqa: E402
from vidclear.evaluation.sr import list_images  # noqa: E402
from vidclear.models.registry import get_model  # noqa: E402
from vidclear.shared_data import SHARED_DATA  # noqa: E402

LOWLIGHT = SHARED_DATA / "lowlight"
DEFAULT_PICKS = [
    ("unpaired_lol_eval15_low3", "1"), ("unpaired_lol_eval15_low3", "22"), ("unpaired_lol_eval15_low3", "780"),
    ("unpaired_lime", "3"), ("unpaired_lime", "8"), ("unpaired_dicm", "05"), ("unpaired_dicm", "22"),
    ("unpaired_dicm", "43"),
]


def tile(img: np.ndarray, width: int) -> np.ndarray:
    h = int(round(img.shape[0] * width / img.shape[1]))
    return cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--width", type=int, default=280, help="width of each tile")
    ap.add_argument("--denoise", help="a third column: the model, then this denoiser")
    args = ap.parse_args()
    enhance = rgb_model_enhancer(get_model(args.model))
    denoise = rgb_model_enhancer(get_model(args.denoise)) if args.denoise else None
    rows = []
    for folder, stem in DEFAULT_PICKS:
        path = next(p for p in list_images(LOWLIGHT / folder) if p.stem == stem)
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        small = tile(bgr, 2 * args.width)  # enhance at a modest size: this is for looking at
        rgb = small[..., ::-1].astype(np.float32) / 255
        outs = [enhance(rgb)]
        if denoise:
            outs.append(denoise(np.clip(outs[0], 0, 1)))
        pair = np.hstack([tile(small, args.width)] + [
            tile(np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)[..., ::-1], args.width) for out in outs])
        label = f"{folder.replace('unpaired_', '')}/{path.name}"
        cv2.putText(pair, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(pair)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows]
    half = (len(rows) + 1) // 2
    left, right = np.vstack(rows[:half]), np.vstack(rows[half:])
    h = max(left.shape[0], right.shape[0])
    sheet = np.hstack([np.pad(left, ((0, h - left.shape[0]), (0, 8), (0, 0))),
                       np.pad(right, ((0, h - right.shape[0]), (0, 0), (0, 0)))])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.output), sheet, [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
