"""Step configs (one pydantic model each, selected by ``name``) and the steps they build.

A step changes a frame's planes in place before the model sees them:

    steps:
      - {name: denoise, method: bilateral, strength: 6}
      - {name: wiener, sigma: 1.2, nsr: 0.01}
      - {name: clahe, clip_limit: 2.0, tiles: 8}
      - {name: sharpen, amount: 0.6, sigma: 1.0}
"""

from __future__ import annotations

from typing import Annotated, Callable, Literal, Union

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .wiener import WienerDeconvolver, gaussian_psf

LumaStep = Callable[[np.ndarray], np.ndarray]  # uint8 luma -> uint8 luma


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WienerConfig(_Step):
    name: Literal["wiener"]
    sigma: float = Field(1.0, gt=0, le=10, description="Gaussian PSF sigma, pixels")
    nsr: float = Field(0.01, gt=0, description="regularisation constant K (noise-to-signal ratio)")


class ClaheConfig(_Step):
    name: Literal["clahe"]
    clip_limit: float = Field(2.0, gt=0)
    tiles: int = Field(8, ge=1, le=64)


class SharpenConfig(_Step):
    name: Literal["sharpen"]
    amount: float = Field(0.5, ge=0, le=5)
    sigma: float = Field(1.0, gt=0, le=10)
    threshold: int = Field(0, ge=0, le=255, description="leave differences below this alone (noise)")


class DenoiseConfig(_Step):
    name: Literal["denoise"]
    method: Literal["nlmeans", "bilateral"] = "bilateral"
    strength: float = Field(6.0, gt=0, le=50)


StepConfig = Annotated[Union[WienerConfig, ClaheConfig, SharpenConfig, DenoiseConfig], Field(discriminator="name")]
STEP_CONFIGS = (WienerConfig, ClaheConfig, SharpenConfig, DenoiseConfig)


def _wiener(cfg: WienerConfig) -> LumaStep:
    deconv = WienerDeconvolver(gaussian_psf(cfg.sigma), cfg.nsr)
    return lambda y: np.clip(np.round(deconv(y)), 0, 255).astype(np.uint8)


def _clahe(cfg: ClaheConfig) -> LumaStep:
    clahe = cv2.createCLAHE(clipLimit=cfg.clip_limit, tileGridSize=(cfg.tiles, cfg.tiles))
    return lambda y: clahe.apply(np.ascontiguousarray(y))


def _sharpen(cfg: SharpenConfig) -> LumaStep:
    def run(y: np.ndarray) -> np.ndarray:
        f = y.astype(np.float32)
        detail = f - cv2.GaussianBlur(f, (0, 0), cfg.sigma)
        if cfg.threshold:
            detail[np.abs(detail) < cfg.threshold] = 0
        return np.clip(f + cfg.amount * detail + 0.5, 0, 255).astype(np.uint8)

    return run


def _denoise(cfg: DenoiseConfig) -> LumaStep:
    if cfg.method == "nlmeans":
        return lambda y: cv2.fastNlMeansDenoising(np.ascontiguousarray(y), None, h=cfg.strength)
    return lambda y: cv2.bilateralFilter(np.ascontiguousarray(y), 5, cfg.strength * 4, 3)


_BUILDERS = {"wiener": _wiener, "clahe": _clahe, "sharpen": _sharpen, "denoise": _denoise}


def build_steps(configs: list) -> list[tuple[str, LumaStep]]:
    return [(c.name, _BUILDERS[c.name](c)) for c in configs]
