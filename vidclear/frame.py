"""The Frame that travels through the pipeline, and YUV 4:2:0 plane helpers.

Frames stay in YUV 4:2:0 the whole way: luma goes through a super-resolution
model, chroma is upscaled with OpenCV bicubic. Only a colour model (the low-light
network) gets RGB, made from the planes and turned back into them here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

import av
import cv2
import numpy as np


@dataclass
class Frame:
    """One video frame and what the stages have made of it so far."""

    index: int
    pts: Optional[int]
    time_base: Optional[Fraction]
    y: np.ndarray  # uint8 (H, W) luma; a view into the decoded frame until infer replaces it
    u: np.ndarray  # uint8 chroma planes, ceil(H/2) x ceil(W/2)
    v: np.ndarray
    captured: float = field(default_factory=time.monotonic)
    rotation: int = 0  # display rotation in degrees (counter-clockwise), kept on output
    luma_in: Optional[np.ndarray] = None  # float32 (H, W) in [0, 1], the model's input
    rgb_in: Optional[np.ndarray] = None  # float32 (3, H, W) RGB in [0, 1], a colour model's input
    keepalive: Any = None  # the decoded av.VideoFrame whose memory y/u/v may view


def plane_view(plane: av.video.plane.VideoPlane) -> np.ndarray:
    """A no-copy (height, width) uint8 view of a PyAV plane, dropping the row padding."""
    buf = np.frombuffer(plane, np.uint8)
    return buf.reshape(plane.height, plane.line_size)[:, : plane.width]


def split_planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U, V views of a yuv420p frame (no copies)."""
    return plane_view(frame.planes[0]), plane_view(frame.planes[1]), plane_view(frame.planes[2])


def chroma_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of a 4:2:0 chroma plane for a luma of width x height."""
    return (width + 1) // 2, (height + 1) // 2


def upscale_chroma(plane: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a chroma plane to the chroma size of a width x height luma (bicubic)."""
    size = chroma_size(width, height)
    if (plane.shape[1], plane.shape[0]) == size:
        return plane
    return cv2.resize(plane, size, interpolation=cv2.INTER_CUBIC)


def luma_to_float(y: np.ndarray) -> np.ndarray:
    """uint8 luma to float32 in [0, 1] (one pass, no intermediate copy)."""
    out = np.empty(y.shape, np.float32)
    np.multiply(y, np.float32(1 / 255), out=out, casting="unsafe")
    return out


def float_to_luma(x: np.ndarray) -> np.ndarray:
    """float luma in [0, 1] to rounded, saturated uint8.

    OpenCV's convertScaleAbs rounds and saturates about 30x faster than numpy's
    clip+astype, but it takes absolute values, so negatives are zeroed first.
    """
    x = np.asarray(x, np.float32)
    np.maximum(x, 0, out=x)
    return cv2.convertScaleAbs(x, alpha=255.0)


def merge_planes(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> av.VideoFrame:
    """A new yuv420p av.VideoFrame holding copies of the three planes."""
    h, w = y.shape
    out = av.VideoFrame(w, h, "yuv420p")
    for plane, data in zip(out.planes, (y, u, v)):
        plane_view(plane)[...] = data
    return out


# YCbCr <-> RGB for models that take colour (the low-light network). Video range;
# BT.709 for HD frames, BT.601 below 720 lines, which is what FFmpeg assumes
# when a stream does not say.
_KR_KB = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}


def matrix_for(height: int) -> str:
    return "bt709" if height >= 720 else "bt601"


def yuv_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, matrix: str = "bt601",
               out: Optional[np.ndarray] = None) -> np.ndarray:
    """uint8 4:2:0 planes -> float32 planar (3, H, W) RGB in [0, 1], written into ``out`` if given.

    Planar, as the models take it, and made by OpenCV weighted sums straight
    from the uint8 planes (chroma upsampled bilinearly): the NumPy float
    arithmetic this replaces cost more than the low-light network itself on a
    GPU at 1080p.
    """
    kr, kb = _KR_KB[matrix]
    kg = 1 - kr - kb
    h, w = y.shape
    if out is None:
        out = np.empty((3, h, w), np.float32)
    cb = cv2.resize(u, (w, h), interpolation=cv2.INTER_LINEAR)
    cr = cv2.resize(v, (w, h), interpolation=cv2.INTER_LINEAR)
    ys = 1 / 219  # video range: Y 16..235, Cb/Cr 16..240 around 128
    ar, ab = 2 * (1 - kr) / 224, 2 * (1 - kb) / 224
    cv2.addWeighted(y, ys, cr, ar, -16 * ys - 128 * ar, dst=out[0], dtype=cv2.CV_32F)  # R = Y' + 2(1-kr) Cr
    cv2.addWeighted(y, ys, cb, ab, -16 * ys - 128 * ab, dst=out[2], dtype=cv2.CV_32F)  # B = Y' + 2(1-kb) Cb
    # G = (Y' - kr R - kb B) / kg = Y' - 2 kr (1-kr)/kg Cr - 2 kb (1-kb)/kg Cb
    gr, gb = -kr / kg * ar, -kb / kg * ab
    cv2.addWeighted(cr, gr, cb, gb, -128 * (gr + gb), dst=out[1], dtype=cv2.CV_32F)
    cv2.addWeighted(out[1], 1.0, y, ys, -16 * ys, dst=out[1], dtype=cv2.CV_32F)
    np.clip(out, 0, 1, out=out)
    return out


def rgb_to_yuv(rgb: np.ndarray, matrix: str = "bt601") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float planar (3, H, W) RGB in [0, 1] -> uint8 Y, U, V planes (4:2:0, chroma by area averaging).

    Rounded and saturated by OpenCV. Area averaging is linear, so each chroma
    plane is made from the quarter-size R (or B) and luma.
    """
    kr, kb = _KR_KB[matrix]
    kg = 1 - kr - kb
    r, g, b = (np.asarray(c, np.float32) for c in rgb)
    yl = cv2.scaleAdd(b, kb, cv2.addWeighted(r, kr, g, kg, 0.0))
    h, w = yl.shape
    y8 = cv2.addWeighted(yl, 219.0, yl, 0.0, 16.0, dtype=cv2.CV_8U)  # 16 + 219 Y, rounded and saturated
    size = chroma_size(w, h)
    yl_c = cv2.resize(yl, size, interpolation=cv2.INTER_AREA)
    sb, sr = 224 / (2 * (1 - kb)), 224 / (2 * (1 - kr))
    u8 = cv2.addWeighted(cv2.resize(b, size, interpolation=cv2.INTER_AREA), sb, yl_c, -sb, 128.0, dtype=cv2.CV_8U)
    v8 = cv2.addWeighted(cv2.resize(r, size, interpolation=cv2.INTER_AREA), sr, yl_c, -sr, 128.0, dtype=cv2.CV_8U)
    return y8, u8, v8
