"""Camera-like noise on colour images, for the denoiser's training and ``vidclear eval denoise``.

A night camera adds Poisson-Gaussian sensor noise to every colour channel
(variance ``gain * level + read_noise``, levels 0-255), then its encoder codes
the frame: each noisy image is coded as one H.264 frame through PyAV at a
constant quality (``crf``), 4:2:0, so the grain comes out as real codec blotches.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Optional

import av
import numpy as np


@dataclass(frozen=True)
class NoiseModel:
    gain: float  # Poisson part: variance per unit of level
    read_noise: float  # Gaussian part: variance
    crf: Optional[int] = 23  # H.264 quality; None: no codec

    @staticmethod
    def random(rng: np.random.Generator) -> "NoiseModel":
        """A night camera drawn from the range the denoiser is trained on."""
        return NoiseModel(gain=float(rng.uniform(0.02, 0.5)), read_noise=float(rng.uniform(4.0, 120.0)),
                          crf=int(rng.choice([16, 19, 22, 25, 28])))


# The noise ``vidclear eval denoise`` adds, a grainy night scene: a sigma of about 10 levels at mid-grey
# (8.5 in the dark), then H.264 at crf 20, the quality of a recorder set to keep detail.
EVAL_NOISE = NoiseModel(gain=0.25, read_noise=64.0, crf=20)


def add_camera_noise(rgb: np.ndarray, rng: np.random.Generator, model: NoiseModel) -> np.ndarray:
    """uint8 HxWx3 ``rgb`` as the camera ``model`` would send it (same size, uint8)."""
    level = rgb.astype(np.float64)
    noisy = level + rng.normal(0.0, 1.0, rgb.shape) * np.sqrt(model.gain * level + model.read_noise)
    noisy = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    return noisy if model.crf is None else h264_round_trip(noisy, model.crf)


def h264_round_trip(rgb: np.ndarray, crf: int) -> np.ndarray:
    """One frame coded as H.264 (4:2:0, ``crf``) in memory and decoded again; odd sizes are padded and cropped."""
    h, w = rgb.shape[:2]
    padded = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = padded.shape[1], padded.shape[0], "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1"}
        out.mux(stream.encode(av.VideoFrame.from_ndarray(padded, format="rgb24")))
        out.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf) as inp:
        frame = next(inp.decode(video=0)).to_ndarray(format="rgb24")
    return frame[:h, :w]
