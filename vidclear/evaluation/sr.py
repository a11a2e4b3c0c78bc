"""The published super-resolution protocol: modcrop, MATLAB bicubic, Y of BT.601, shave."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..errors import InputError
from .matlab_resize import imresize
from .metrics import modcrop, psnr, rgb_to_y, shave, ssim

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")
MIN_LR_SIDE = 8  # low-resolution pixels: the networks' 5x5 first layer, and something left after the shave

# Maps a low-resolution luma plane (float64, 16-235 range for colour images) to its upscale.
LumaUpscaler = Callable[[np.ndarray], np.ndarray]


def list_images(folder: str | Path) -> list[Path]:
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise InputError(f"no images in {folder}")
    return paths


def imread(path: str | Path, flags: int) -> np.ndarray:
    """``cv2.imread``, with a file it cannot read named in one line (it returns None)."""
    img = cv2.imread(str(path), flags)
    if img is None:
        raise InputError(f"cannot read image {path} (not an image, or damaged)")
    return img


def read_rgb(path: str | Path) -> np.ndarray:
    """RGB uint8, or a single-channel uint8 image for grey files (scored on their own values)."""
    img = imread(path, cv2.IMREAD_UNCHANGED)
    if img.dtype != np.uint8:
        img = (img / 257).astype(np.uint8)
    if img.ndim == 3:
        img = cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2RGB)
    return img


@dataclass
class SRPair:
    name: str
    hr_y: np.ndarray  # float64 luma of the modcropped ground truth
    lr_y: np.ndarray  # float64 luma of the MATLAB-bicubic low-resolution image


def make_pair(img: np.ndarray, scale: int, name: str = "") -> SRPair:
    hr = modcrop(img, scale)
    lr = imresize(hr, 1 / scale)
    return SRPair(name, rgb_to_y(hr), rgb_to_y(lr))


def load_pairs(folder: str | Path, scale: int) -> list[SRPair]:
    """Every image of ``folder`` as a pair; one that cannot be read, or is too small for ``scale``, is named."""
    pairs = []
    for path in list_images(folder):
        img = read_rgb(path)
        least = MIN_LR_SIDE * scale
        if min(img.shape[:2]) < least:
            raise InputError(f"image {path} is {img.shape[1]}x{img.shape[0]}: too small for x{scale} evaluation "
                             f"(each side needs at least {least} pixels)")
        pairs.append(make_pair(img, scale, path.stem))
    return pairs


@dataclass
class SRScore:
    images: int
    psnr: float
    ssim: float
    per_image: dict[str, float]


def score_sr(pairs: list[SRPair], scale: int, upscale: LumaUpscaler, with_ssim: bool = True) -> SRScore:
    """Mean Y PSNR/SSIM with ``scale`` pixels shaved; outputs are rounded to 8 bits first."""
    ps, ss, per = [], [], {}
    for pair in pairs:
        out = np.clip(np.round(upscale(pair.lr_y)), 0, 255)
        a, b = shave(out, scale), shave(pair.hr_y, scale)
        p = psnr(a, b)
        ps.append(p)
        per[pair.name] = p
        if with_ssim:
            ss.append(ssim(a, b))
    return SRScore(len(pairs), float(np.mean(ps)), float(np.mean(ss)) if ss else float("nan"), per)


def bicubic_upscaler(scale: int) -> LumaUpscaler:
    return lambda y: imresize(y, scale)
