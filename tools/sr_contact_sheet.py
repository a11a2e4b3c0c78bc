#!/usr/bin/env python3
"""Real frames by eye: crops of the shared traffic and CCTV clips after bicubic and after each SR model.

Each method runs through `vidclear enhance` itself (the whole pipeline, chroma and encoder included), the
chosen frame is decoded from its output, and the same crops of every output are laid side by side.

    python tools/sr_contact_sheet.py --scale 3 --models espcn-x3 espcn-x3-cctv -o docs/measurements/sr_contact_x3.jpg
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidclear.config import Config  # noqa: E402
from vidclear.engine.run import run_enhance  # noqa: E402
from vidclear.shared_data import SHARED_DATA  # noqa: E402

CLIPS = SHARED_DATA / "clips"
# (clip, frame, crop x, y, w, h in input pixels): cars and plates on the traffic clip, people on PETS 2009
PICKS = [
    ("car_traffic_small_640x360.mp4", 40, 300, 180, 140, 80),
    ("car_traffic_small_640x360.mp4", 40, 420, 230, 140, 80),
    ("pets2009_s2l1_480x360_h264.avi", 60, 180, 120, 140, 80),
]


def frame_of(path: Path, index: int) -> np.ndarray:
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return f.to_ndarray(format="bgr24")
    raise ValueError(f"{path} has no frame {index}")


def label(img: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((22, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, img])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=3)
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args()
    methods = [f"bicubic-x{args.scale}"] + args.models
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        outputs: dict[tuple[str, str], Path] = {}
        for clip in sorted({p[0] for p in PICKS}):
            last = max(p[1] for p in PICKS if p[0] == clip)
            for m in methods:
                out = Path(tmp) / f"{m}_{Path(clip).stem}.mkv"
                run_enhance(CLIPS / clip, out, Config(model=m, max_frames=last + 1, encoder={"crf": 12}))
                outputs[(clip, m)] = out
        s = args.scale
        for clip, index, x, y, w, h in PICKS:
            crops = [label(frame_of(outputs[(clip, m)], index)[y * s:(y + h) * s, x * s:(x + w) * s], m)
                     for m in methods]
            rows.append(np.concatenate([np.concatenate([c, np.full((c.shape[0], 6, 3), 255, np.uint8)], 1)
                                        for c in crops], 1))
    sheet = np.concatenate([np.concatenate([r, np.full((6, r.shape[1], 3), 255, np.uint8)]) for r in rows])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.output), sheet, [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(f"contact sheet: {args.output} ({sheet.shape[1]}x{sheet.shape[0]}): {', '.join(methods)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
