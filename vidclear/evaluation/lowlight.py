"""Low-light scoring on paired ``low/`` and ``high/`` folders: RGB PSNR/SSIM, plain and GT-mean.

"GT-mean" rescales the output to the ground truth's mean brightness before
scoring (as LOL papers report it): the true exposure cannot be read from a dark
frame, so this variant scores the restoration without the brightness guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..errors import InputError
from .metrics import psnr, ssim
from .sr import imread, list_images

# float32 HxWx3 RGB in [0, 1] -> the same, enhanced
Enhancer = Callable[[np.ndarray], np.ndarray]


@dataclass
class LowLightPair:
    name: str
    low: np.ndarray  # float32 RGB in [0, 1]
    high: np.ndarray  # uint8 RGB


def read_rgb_color(path: Path) -> np.ndarray:
    """RGB uint8 with three channels (grey files are expanded), or a clear error."""
    img = imread(path, cv2.IMREAD_COLOR)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_rgb_float(path: Path) -> np.ndarray:
    """RGB float32 in [0, 1]: how the low-light network takes an image (evaluation and training)."""
    return read_rgb_color(path).astype(np.float32) / 255


def load_lowlight_pairs(folder: str | Path) -> list[LowLightPair]:
    folder = Path(folder)
    low_dir, high_dir = folder / "low", folder / "high"
    if not low_dir.is_dir() or not high_dir.is_dir():
        raise InputError(f"{folder} must hold low/ and high/ folders")
    pairs = []
    for low_path in list_images(low_dir):
        candidates = [p for p in high_dir.iterdir() if p.stem == low_path.stem]
        if not candidates:
            raise InputError(f"no ground truth for {low_path.name} in {high_dir}")
        low, high = read_rgb_float(low_path), read_rgb_color(candidates[0])
        if low.shape != high.shape:
            raise InputError(f"{low_path} is {low.shape[1]}x{low.shape[0]} but its ground truth {candidates[0]} is "
                             f"{high.shape[1]}x{high.shape[0]}: a pair must be the same size")
        pairs.append(LowLightPair(low_path.stem, low, high))
    return pairs


@dataclass
class LowLightScore:
    images: int
    psnr: float
    ssim: float
    psnr_gtmean: float
    ssim_gtmean: float


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255), 0, 255).astype(np.uint8)


def score_lowlight(pairs: list[LowLightPair], enhance: Enhancer, with_ssim: bool = True) -> LowLightScore:
    ps, ss, pg, sg = [], [], [], []
    for pair in pairs:
        out = np.clip(enhance(pair.low), 0, 1)
        gt = pair.high.astype(np.float64) / 255
        matched = np.clip(out * (gt.mean() / max(out.mean(), 1e-6)), 0, 1)
        a, b = to_uint8(out), pair.high
        m = to_uint8(matched)
        ps.append(psnr(a, b))
        pg.append(psnr(m, b))
        if with_ssim:
            ss.append(ssim(a, b))
            sg.append(ssim(m, b))
    mean = lambda v: float(np.mean(v)) if v else float("nan")  # noqa: E731
    return LowLightScore(len(pairs), mean(ps), mean(ss), mean(pg), mean(sg))
