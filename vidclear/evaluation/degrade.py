"""What a camera does to a scene, for benchmarks and training: optical blur, downscaling, sensor noise and a
real video codec at a CCTV bitrate.

The images (each at most 624x344 after downscaling) are laid out on 640x360
frames; each frame is coded five times with fresh sensor noise through PyAV
(libx264 or libx265, 15 fps, constant bitrate), and the last decoded frame,
a P-frame with real codec artefacts, is cut back into the images.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

from .matlab_resize import imresize

FRAME_W, FRAME_H, GAP = 640, 360, 8


@dataclass(frozen=True)
class CameraModel:
    blur: float  # optical blur, Gaussian sigma in low-resolution pixels
    gain: float  # Poisson part of the sensor noise: variance = gain * level + read_noise (levels 0-255)
    read_noise: float
    kbps: int  # codec bitrate for 640x360 at 15 fps
    codec: str = "libx264"  # or libx265

    @staticmethod
    def random(rng: np.random.Generator) -> "CameraModel":
        """A camera drawn from the range CCTV footage spans (training)."""
        return CameraModel(blur=float(rng.uniform(0.3, 0.8)), gain=float(rng.uniform(0.0, 0.16)),
                           read_noise=float(rng.uniform(0.5, 9.0)), kbps=int(rng.choice([200, 300, 400, 600, 900])),
                           codec=str(rng.choice(["libx264", "libx264", "libx265"])))


def camera_degrade(hrs: list[np.ndarray], scale: int, rng: np.random.Generator, camera: CameraModel) -> list[np.ndarray]:
    """uint8 low-resolution images of the float grey (0-255) ``hrs``, as ``camera`` would send them."""
    clean = []
    for hr in hrs:
        blurred = cv2.GaussianBlur(hr, (0, 0), camera.blur * scale)
        clean.append(np.clip(imresize(blurred, 1 / scale), 0, 255))
    out: list[np.ndarray] = [np.zeros(0, np.uint8)] * len(hrs)
    for page in _pages([c.shape for c in clean]):
        frames = []
        for _ in range(5):
            canvas = np.full((FRAME_H, FRAME_W), 128.0)
            for idx, (y, x) in page:
                img = clean[idx]
                sigma = np.sqrt(camera.gain * img + camera.read_noise)
                canvas[y:y + img.shape[0], x:x + img.shape[1]] = img + rng.normal(0, 1, img.shape) * sigma
            frames.append(np.clip(np.round(canvas), 0, 255).astype(np.uint8))
        last = codec_round_trip(frames, camera)
        for idx, (y, x) in page:
            h, w = clean[idx].shape
            out[idx] = last[y:y + h, x:x + w].copy()
    return out


def _pages(shapes: list[tuple[int, int]]) -> list[list[tuple[int, tuple[int, int]]]]:
    """Shelf packing of the images into frames: [(index, (y, x))] per frame."""
    pages, page, x, y, shelf = [], [], GAP, GAP, 0
    for i, (h, w) in enumerate(shapes):
        if h > FRAME_H - 2 * GAP or w > FRAME_W - 2 * GAP:
            raise ValueError(f"an image of {w}x{h} does not fit a {FRAME_W}x{FRAME_H} frame")
        if x + w > FRAME_W - GAP:
            x, y, shelf = GAP, y + shelf + GAP, 0
        if y + h > FRAME_H - GAP:
            pages.append(page)
            page, x, y, shelf = [], GAP, GAP, 0
        page.append((i, (y, x)))
        x, shelf = x + w + GAP, max(shelf, h)
    if page:
        pages.append(page)
    return pages


def codec_round_trip(frames: list[np.ndarray], camera: CameraModel) -> np.ndarray:
    """Encode grey 640x360 frames at ``camera.kbps`` (15 fps, no B-frames) in memory; the last one decoded."""
    import av  # here, not at the top: training on pairs made elsewhere (train_sr.py --pack) needs no PyAV

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream(camera.codec, rate=15)
        stream.width, stream.height, stream.pix_fmt = FRAME_W, FRAME_H, "yuv420p"
        stream.bit_rate = camera.kbps * 1000
        stream.options = ({"preset": "veryfast", "threads": "1", "bf": "0"} if camera.codec == "libx264" else
                          {"preset": "veryfast", "x265-params": "log-level=error:bframes=0:pools=1:frame-threads=1"})
        stream.codec_context.time_base = Fraction(1, 15)
        chroma = np.full((FRAME_H // 2, FRAME_W), 128, np.uint8)  # U then V, 90 rows each as PyAV packs 4:2:0
        for i, grey in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.concatenate([grey, chroma]), format="yuv420p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf) as inp:
        decoded = [f.to_ndarray(format="gray") for f in inp.decode(video=0)]
    return decoded[-1]
