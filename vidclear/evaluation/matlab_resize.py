"""MATLAB-compatible ``imresize`` (bicubic, antialiased when shrinking).

Published super-resolution tables make their low-resolution inputs with MATLAB's
``imresize``; OpenCV and PIL resizes differ from it by tenths of a dB, so the
evaluation protocol and the training data both use this port.
"""

from __future__ import annotations

import math

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic kernel with a = -0.5, as MATLAB uses."""
    absx = np.abs(x)
    absx2 = absx**2
    absx3 = absx**3
    return (1.5 * absx3 - 2.5 * absx2 + 1) * (absx <= 1) + (
        -0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2
    ) * ((absx > 1) & (absx <= 2))


def _contributions(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices and weights of the input samples that make each output sample."""
    kernel_width = 4.0
    antialias = scale < 1
    if antialias:
        kernel_width /= scale
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]
    dist = u[:, None] - indices
    weights = scale * _cubic(dist * scale) if antialias else _cubic(dist)
    weights /= weights.sum(axis=1, keepdims=True)
    # MATLAB mirrors the border ("symmetric" padding).
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, mirror.size)]
    keep = np.any(weights != 0, axis=0)
    return indices[:, keep], weights[:, keep]


def _resize_axis(img: np.ndarray, axis: int, out_len: int, scale: float) -> np.ndarray:
    idx, w = _contributions(img.shape[axis], out_len, scale)
    moved = np.moveaxis(img, axis, 0)
    gathered = moved[idx]  # (out_len, taps, ...)
    w = w.reshape(w.shape + (1,) * (moved.ndim - 1))
    return np.moveaxis((gathered * w).sum(axis=1), 0, axis)


def imresize(img: np.ndarray, scale: float | None = None, size: tuple[int, int] | None = None) -> np.ndarray:
    """Resize an HxW or HxWxC image like MATLAB ``imresize(img, scale, 'bicubic')``.

    A ``uint8`` input gives a rounded ``uint8`` output, exactly as MATLAB does; a
    float input stays float. ``size`` is (height, width) and overrides ``scale``.
    """
    if size is None:
        if scale is None:
            raise ValueError("give scale or size")
        size = (int(math.ceil(img.shape[0] * scale)), int(math.ceil(img.shape[1] * scale)))
        scales = (scale, scale)
    else:
        scales = (size[0] / img.shape[0], size[1] / img.shape[1])
    out = img.astype(np.float64)
    # MATLAB resizes the dimension with the smaller scale first (rows on a tie).
    for axis in sorted((0, 1), key=lambda a: scales[a]):
        out = _resize_axis(out, axis, size[axis], scales[axis])
    if img.dtype == np.uint8:
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    return out.astype(img.dtype) if np.issubdtype(img.dtype, np.floating) else out
