"""``vidclear eval denoise DIR``: a denoiser against OpenCV's non-local means and bilateral filter.

Each clean image of DIR gets seeded camera-like night noise (``noise.EVAL_NOISE``:
Poisson-Gaussian sensor noise, then one H.264 frame), and every method restores
it. Scores are RGB PSNR / SSIM against the clean image. The classical baselines
run at their best strength for this noise (chosen from a small grid by PSNR on
these very images: a choice that favours them), and their time is measured at
that strength.

- ``psnr``: the model on each image alone (its previous frame is the image itself).
- ``psnr_with_previous``: the model given a previous frame of a fixed camera (the
  same scene with new noise), as in video.
- Times are CPU milliseconds per megapixel on this machine: the model through the
  backend the pipeline uses on a CPU, the baselines through OpenCV.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np

from ..backends.base import BackendOptions
from ..backends.select import create_backend
from ..models.registry import ModelSpec
from .metrics import psnr, ssim
from .noise import EVAL_NOISE, add_camera_noise
from .lowlight import read_rgb_color
from .sr import list_images

NLM_STRENGTHS = (2.0, 3.0, 4.0, 5.0, 6.0, 9.0)  # h (and hColor) of cv2.fastNlMeansDenoisingColored
BILATERAL_SIGMAS = (10.0, 20.0, 35.0, 50.0)  # sigmaColor of cv2.bilateralFilter (d 7, sigmaSpace 3)

Restore = Callable[[np.ndarray], np.ndarray]  # uint8 RGB -> uint8 RGB


@dataclass
class Scored:
    psnr: float
    ssim: float
    ms_per_mp: float


def _nlm(h: float) -> Restore:
    def run(rgb: np.ndarray) -> np.ndarray:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        return cv2.cvtColor(cv2.fastNlMeansDenoisingColored(bgr, None, h, h, 7, 21), cv2.COLOR_BGR2RGB)

    return run


def _bilateral(sigma: float) -> Restore:
    return lambda rgb: cv2.bilateralFilter(rgb, 7, sigma, 3.0)


def score(restore: Callable, inputs: list, clean: list[np.ndarray], with_ssim: bool = True) -> Scored:
    """Mean PSNR/SSIM over the images (``restore(input)`` against its clean image), and the time per megapixel."""
    outs, seconds = [], 0.0
    for img in inputs:
        start = time.perf_counter()
        outs.append(restore(img))
        seconds += time.perf_counter() - start
    pixels = sum(c.shape[0] * c.shape[1] for c in clean)
    return Scored(float(np.mean([psnr(o, c) for o, c in zip(outs, clean)])),
                  float(np.mean([ssim(o, c) for o, c in zip(outs, clean)])) if with_ssim else float("nan"),
                  1000 * seconds / (pixels / 1e6))


def best_of(make: Callable[[float], Restore], strengths: tuple[float, ...], noisy: list[np.ndarray],
            clean: list[np.ndarray]) -> tuple[float, Scored]:
    """(strength, its score) of the strength with the best PSNR."""
    scored = [(s, score(make(s), noisy, clean, with_ssim=False)) for s in strengths]
    best, _ = max(scored, key=lambda item: item[1].psnr)
    return best, score(make(best), noisy, clean)


def model_restorer(spec: ModelSpec) -> Callable[[np.ndarray, Optional[np.ndarray]], np.ndarray]:
    """The model on the CPU through the pipeline's backend: (noisy RGB, its previous frame or None) -> RGB."""
    backend = create_backend("auto", spec, "cpu", BackendOptions())

    def run(rgb: np.ndarray, previous: Optional[np.ndarray] = None) -> np.ndarray:
        x = (rgb.astype(np.float32) / 255).transpose(2, 0, 1)
        prev = x if previous is None else (previous.astype(np.float32) / 255).transpose(2, 0, 1)
        out = backend.infer(np.ascontiguousarray(np.concatenate([x, prev])[None]) if spec.frames == 2 else x[None])
        return np.clip(np.round(out[0].transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8)

    return run


@dataclass
class DenoiseResult:
    """``vidclear eval denoise``'s report: ``as_json`` and ``table``, as the other evaluations give."""

    report: dict

    def as_json(self) -> dict:
        return self.report

    def table(self) -> str:
        return denoise_table(self.report)


def evaluate_denoise(spec: ModelSpec, dataset: Path, seed: int = 0) -> DenoiseResult:
    paths = list_images(dataset)
    rng = np.random.default_rng(seed)
    clean = [read_rgb_color(p) for p in paths]
    noisy = [add_camera_noise(img, rng, EVAL_NOISE) for img in clean]
    previous = [add_camera_noise(img, rng, EVAL_NOISE) for img in clean]  # a fixed camera: new noise
    restore = model_restorer(spec)
    restore(noisy[0][:64, :64])  # load and warm the backend outside the timing
    ours = score(restore, noisy, clean)
    with_previous = (score(lambda pair: restore(*pair), list(zip(noisy, previous)), clean, with_ssim=False)
                     if spec.frames == 2 else ours)
    nlm_h, nlm = best_of(_nlm, NLM_STRENGTHS, noisy, clean)
    bil_sigma, bil = best_of(_bilateral, BILATERAL_SIGMAS, noisy, clean)
    noisy_score = score(lambda x: x, noisy, clean)
    return DenoiseResult({
        "model": spec.name,
        "dataset": dataset.name,
        "images": len(clean),
        "megapixels": round(sum(c.shape[0] * c.shape[1] for c in clean) / 1e6, 3),
        "noise": f"Poisson-Gaussian (gain {EVAL_NOISE.gain}, read noise variance {EVAL_NOISE.read_noise}), "
                 f"then H.264 crf {EVAL_NOISE.crf}; seed {seed}",
        "psnr": round(ours.psnr, 4),
        "ssim": round(ours.ssim, 5),
        "psnr_with_previous": round(with_previous.psnr, 4),
        "ms_per_mp": round(ours.ms_per_mp, 1),
        "noisy_psnr": round(noisy_score.psnr, 4),
        "noisy_ssim": round(noisy_score.ssim, 5),
        "baseline_nlm_psnr": round(nlm.psnr, 4),
        "baseline_nlm_ssim": round(nlm.ssim, 5),
        "baseline_nlm_ms_per_mp": round(nlm.ms_per_mp, 1),
        "baseline_nlm_h": nlm_h,
        "baseline_bilateral_psnr": round(bil.psnr, 4),
        "baseline_bilateral_ssim": round(bil.ssim, 5),
        "baseline_bilateral_ms_per_mp": round(bil.ms_per_mp, 1),
        "baseline_bilateral_sigma_color": bil_sigma,
        "params": spec.params,
        "flops_per_input_pixel": spec.flops_per_pixel,
    })


def denoise_table(report: dict) -> str:
    rows = [("noisy input", report["noisy_psnr"], report["noisy_ssim"], None),
            (report["model"], report["psnr"], report["ssim"], report["ms_per_mp"]),
            (f"{report['model']} with the previous frame", report["psnr_with_previous"], None, None),
            (f"non-local means (h {report['baseline_nlm_h']:g})", report["baseline_nlm_psnr"],
             report["baseline_nlm_ssim"], report["baseline_nlm_ms_per_mp"]),
            (f"bilateral (sigmaColor {report['baseline_bilateral_sigma_color']:g})",
             report["baseline_bilateral_psnr"], report["baseline_bilateral_ssim"],
             report["baseline_bilateral_ms_per_mp"])]
    lines = [f"{report['dataset']}: {report['images']} images ({report['megapixels']} MP); noise: {report['noise']}",
             "| method | RGB PSNR dB | SSIM | CPU ms / MP |", "|---|---|---|---|"]
    for name, p, s, ms in rows:
        lines.append(f"| {name} | {p:.2f} | {'' if s is None else f'{s:.4f}'} | {'' if ms is None else f'{ms:.0f}'} |")
    return "\n".join(lines)
