"""A camera-like low-light degradation, applied on the fly to clean training images.

Linear light, exposure scale, white-balance cast, Poisson-Gaussian sensor noise,
clipping, gamma, 8-bit quantisation: the model of ../shared/data/lowlight/README.md,
with every parameter drawn from a wider range than the evaluation set's, because
the model must also work on real night footage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DegradeRanges:
    exposure: tuple[float, float] = (0.004, 0.15)  # evaluation set: 0.01-0.06 (log-uniform here)
    white_balance: tuple[float, float] = (0.85, 1.15)  # evaluation set: 0.92-1.08
    photon_scale: tuple[float, float] = (1e-4, 2e-3)  # evaluation set: 4e-4 (log-uniform here)
    read_noise: tuple[float, float] = (0.0005, 0.005)  # evaluation set: 0.002
    gamma: tuple[float, float] = (2.0, 2.4)  # evaluation set: 2.2


EVAL_RANGES = DegradeRanges((0.01, 0.06), (0.92, 1.08), (4e-4, 4e-4), (0.002, 0.002), (2.2, 2.2))


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator, log: bool = False) -> torch.Tensor:
    u = torch.rand(n, generator=gen, device=gen.device)
    if log:
        return torch.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    return lo + u * (hi - lo)


def degrade(clean: torch.Tensor, ranges: DegradeRanges, gen: torch.Generator) -> torch.Tensor:
    """clean: (N,3,H,W) gamma-encoded RGB in [0,1] -> a dark, noisy 8-bit-quantised version.

    ``gen`` must live on ``clean``'s device (a CUDA generator for a CUDA image).
    """
    n = clean.shape[0]
    gamma = _uniform(n, *ranges.gamma, gen).view(n, 1, 1, 1)
    lin = clean.clamp(0, 1) ** gamma
    exposure = _uniform(n, *ranges.exposure, gen, log=True).view(n, 1, 1, 1)
    wb = _uniform(n * 3, *ranges.white_balance, gen).view(n, 3, 1, 1)
    lin = lin * exposure * wb
    k = _uniform(n, *ranges.photon_scale, gen, log=True).view(n, 1, 1, 1)
    lin = torch.poisson(lin / k, generator=gen) * k
    sigma = _uniform(n, *ranges.read_noise, gen).view(n, 1, 1, 1)
    lin = lin + sigma * torch.randn(lin.shape, generator=gen, device=lin.device)
    out = lin.clamp(0, 1) ** (1 / gamma)
    return torch.round(out * 255) / 255
