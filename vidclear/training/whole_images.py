"""Whole training images for the low-light stages that judge whole scenes.

The brightness a scene should have is a property of the whole image, so the
head fit (tools/fit_brightness_head.py), the whole-image tuning
(tools/tune_lowlight_whole.py) and the held-out comparison
(tools/lowlight_heldout.py) all work on whole T91 + BSD200 images with the same
held-out tenth, the same samples and the same scoring; they share them from
here. The evaluation runs on whole images at full size; the CPU recipe tunes on
half-size ones (a quarter of the pixels), which leaves the brightness head
reading features of a finer scale than it meets in use: a GPU can afford full
size (``--size full``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..evaluation.lowlight import read_rgb_float
from ..shared_data import SHARED_DATA
from .degrade import DegradeRanges, degrade
from .loop import split_tenth, training_images


def whole_images(tool: str, data: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """T91 + BSD200 as float RGB: the training images, and the held-out tenth (every 10th, sorted). A missing
    folder ends ``tool`` with one line naming it."""
    return split_tenth([read_rgb_float(p) for p in training_images(tool, data / "sr")])


SIZES = ("half", "full")


def at_size(img: np.ndarray, size: str) -> np.ndarray:
    """The image at the size a whole-image stage works on: ``full``, or ``half`` (area-averaged)."""
    if size == "full":
        return img
    if size != "half":
        raise ValueError(f"size must be one of {SIZES}, not {size!r}")
    return cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)


def to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]


def held_out_samples(images: list[np.ndarray], ranges: DegradeRanges, draws: int, gen: torch.Generator,
                     size: str = "half") -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(dark, clean) pairs of the held-out images at ``size``, ``draws`` degradations of each."""
    return [(degrade(c, ranges, gen), c) for c in (to_tensor(at_size(im, size)) for im in images)
            for _ in range(draws)]


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return -10 * float(np.log10(max(F.mse_loss(a, b).item(), 1e-10)))


@torch.no_grad()
def score(model: nn.Module, samples: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, float]:
    """Mean plain and GT-mean PSNR (the output scaled to the clean image's mean first, as vidclear eval does)."""
    plain, gtmean = [], []
    for low, clean in samples:
        out = model(low.to(clean.device)).clamp(0, 1)
        plain.append(psnr(out, clean))
        gtmean.append(psnr((out * clean.mean() / out.mean().clamp_min(1e-6)).clamp(0, 1), clean))
    return float(np.mean(plain)), float(np.mean(gtmean))


def add_whole_image_arguments(ap: argparse.ArgumentParser) -> None:
    """The options every whole-image tool takes."""
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--data", type=Path, default=SHARED_DATA)


def add_size_argument(ap: argparse.ArgumentParser) -> None:
    """--size for the tools that run whole images through the network at a chosen size."""
    ap.add_argument("--size", choices=SIZES, default="half",
                    help="work on whole images at half size (the CPU recipe) or at full size, as evaluated")


def save_best(state: dict[str, torch.Tensor], out: Path, best_step: int | str, held_out: float, t0: float) -> None:
    """Write the chosen weights and print one JSON line that names them (the card quotes its sha256)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(json.dumps({"weights": str(out), "sha256": digest, "best_step": best_step,
                      "held_out_psnr": round(held_out, 3), "seconds": round(time.time() - t0, 1)}), flush=True)
