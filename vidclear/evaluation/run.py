"""``vidclear eval MODEL DATASET``: score a registered model with the published protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
import torch

from ..errors import InputError, VidclearError
from ..models.registry import ModelSpec, get_model
from .lowlight import load_lowlight_pairs, score_lowlight
from .sr import bicubic_upscaler, load_pairs, score_sr

if TYPE_CHECKING:
    from .denoise import DenoiseResult


@dataclass
class EvalResult:
    model: str
    dataset: str
    scale: int
    images: int
    psnr: float
    ssim: float
    baseline: str
    baseline_psnr: float
    baseline_ssim: float
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        out = {
            "model": self.model,
            "dataset": self.dataset,
            "images": self.images,
            "psnr": round(self.psnr, 4),
            "ssim": round(self.ssim, 5),
            "baseline_psnr": round(self.baseline_psnr, 4),
            "baseline_ssim": round(self.baseline_ssim, 5),
        }
        out.update(self.extra)
        return out

    def table(self) -> str:
        what = "RGB PSNR / SSIM" if "psnr_gtmean" in self.extra else "Y PSNR / SSIM (published protocol)"
        lines = [
            f"{self.dataset}: {self.images} images, x{self.scale}, {what}",
            "| method | PSNR dB | SSIM |",
            "|---|---|---|",
            f"| {self.model} | {self.psnr:.2f} | {self.ssim:.4f} |",
        ]
        if "psnr_gtmean" in self.extra:
            lines.append(f"| {self.model} (GT-mean) | {self.extra['psnr_gtmean']:.2f} | {self.extra['ssim_gtmean']:.4f} |")
        lines.append(f"| {self.baseline} | {self.baseline_psnr:.2f} | {self.baseline_ssim:.4f} |")
        return "\n".join(lines)


def luma_model_upscaler(spec: ModelSpec):
    model = spec.load()

    @torch.inference_mode()
    def run(y: np.ndarray) -> np.ndarray:
        x = torch.from_numpy((y / 255.0).astype(np.float32))[None, None]
        return model(x)[0, 0].double().numpy() * 255.0

    return run


def evaluate(model_name: str, dataset: Path, seed: int = 0) -> Union[EvalResult, "DenoiseResult"]:
    spec = get_model(model_name)
    if not dataset.is_dir():
        raise InputError(f"dataset {dataset} is a file: name the folder of images it is in" if dataset.exists()
                         else f"dataset folder not found: {dataset}")
    if spec.task == "denoise":  # clean images, noised here with a seeded camera
        from .denoise import evaluate_denoise

        return evaluate_denoise(spec, dataset, seed)
    if spec.task == "lowlight" or (dataset / "low").is_dir():
        return evaluate_lowlight(spec, dataset)
    if spec.scale < 2:
        raise VidclearError(f"model '{spec.name}' does not upscale; super-resolution evaluation needs scale >= 2")
    pairs = load_pairs(dataset, spec.scale)
    ours = score_sr(pairs, spec.scale, luma_model_upscaler(spec))
    base = score_sr(pairs, spec.scale, bicubic_upscaler(spec.scale))
    described = spec.describe()  # the network's cost beside its score: a retrained model must not grow
    return EvalResult(
        model=spec.name,
        dataset=dataset.name,
        scale=spec.scale,
        images=ours.images,
        psnr=ours.psnr,
        ssim=ours.ssim,
        baseline="bicubic (MATLAB)",
        baseline_psnr=base.psnr,
        baseline_ssim=base.ssim,
        extra={"scale": spec.scale, "params": described["params"],
               "flops_per_input_pixel": described["flops_per_input_pixel"]},
    )


def rgb_model_enhancer(spec: ModelSpec):
    model = spec.load()

    @torch.inference_mode()
    def run(rgb: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
        return model(x)[0].permute(1, 2, 0).numpy()

    return run


def evaluate_lowlight(spec: ModelSpec, dataset: Path) -> EvalResult:
    if spec.task != "lowlight":
        raise VidclearError(f"{dataset} is a low-light set (low/, high/) but '{spec.name}' is not a low-light model")
    pairs = load_lowlight_pairs(dataset)
    ours = score_lowlight(pairs, rgb_model_enhancer(spec))
    base = score_lowlight(pairs, lambda low: low)
    return EvalResult(
        model=spec.name,
        dataset=dataset.name,
        scale=1,
        images=ours.images,
        psnr=ours.psnr,
        ssim=ours.ssim,
        baseline="low input",
        baseline_psnr=base.psnr,
        baseline_ssim=base.ssim,
        extra={
            "psnr_gtmean": round(ours.psnr_gtmean, 4),
            "ssim_gtmean": round(ours.ssim_gtmean, 5),
            "metric": "RGB PSNR/SSIM; *_gtmean: output scaled to the ground truth's mean first",
        },
    )
