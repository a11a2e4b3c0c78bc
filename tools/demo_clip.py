"""A CCTV-like demo clip for `make demo` where ../shared/data is absent: a fixed scene with a moving car and a plate.

    python tools/demo_clip.py OUT.mp4 [--frames 200]

A static background (what a fixed camera sees for hours), a box crossing it with
a licence-plate-like string, mild sensor noise, H.264 at 10 fps, 480x360 (all adjustable).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av
import cv2
import numpy as np


def scene(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Road, kerb and a building front: BGR uint8."""
    img = np.full((height, width, 3), (90, 95, 100), np.uint8)
    cv2.rectangle(img, (0, 0), (width, height // 3), (150, 140, 120), -1)  # building
    for x in range(20, width, 60):
        cv2.rectangle(img, (x, 20), (x + 30, height // 3 - 20), (60, 60, 70), -1)  # windows
    cv2.rectangle(img, (0, height // 3), (width, height // 3 + 12), (180, 180, 180), -1)  # kerb
    for x in range(0, width, 40):
        cv2.line(img, (x, height * 2 // 3), (x + 20, height * 2 // 3), (230, 230, 230), 2)  # lane marks
    return cv2.GaussianBlur(img + rng.integers(0, 6, img.shape, dtype=np.uint8), (3, 3), 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", type=Path)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--width", type=int, default=480)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--fps", type=int, default=10)
    ap.add_argument("--pan", type=int, default=0, metavar="PX",
                    help="the camera pans PX pixels a frame (a worst case for static-camera reuse)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    w, h = args.width, args.height
    background = scene(w + args.pan * args.frames, h, rng)
    if args.pan:  # detail everywhere, as a real street has, so that a pan changes every part of the frame
        yy, xx = np.mgrid[0:h, 0:background.shape[1]]
        detail = 30 * np.sin(xx / 2.3) * np.cos(yy / 3.1) + rng.normal(0, 8, (h, background.shape[1]))
        background = np.clip(background + detail[..., None], 0, 255).astype(np.uint8)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(args.output), "w") as out:
        stream = out.add_stream("libx264", rate=args.fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        for i in range(args.frames):
            frame = background[:, i * args.pan:i * args.pan + w].copy()
            x = int((i * 4) % (w + 160)) - 160
            y = h // 2
            cv2.rectangle(frame, (x, y), (x + 140, y + 60), (40, 40, 160), -1)  # the car
            cv2.rectangle(frame, (x + 45, y + 40), (x + 100, y + 54), (235, 235, 235), -1)  # its plate
            cv2.putText(frame, "VC 42 17", (x + 47, y + 52), cv2.FONT_HERSHEY_PLAIN, 0.75, (10, 10, 10), 1)
            noisy = np.clip(frame.astype(np.int16) + rng.normal(0, 2, frame.shape).round().astype(np.int16), 0, 255)
            video = av.VideoFrame.from_ndarray(noisy.astype(np.uint8), format="bgr24")
            video.pts = i
            out.mux(stream.encode(video))
        out.mux(stream.encode(None))
    print(f"generated {args.output} ({w}x{h}, {args.frames} frames at {args.fps} fps" + (f", panning {args.pan} px a frame"
          if args.pan else "") + ")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
