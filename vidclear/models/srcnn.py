"""SRCNN 9-1-5 (Dong et al. 2014), the reference network: bicubic upscale, then three convolutions.

Kept as a reference point for the tables, not for speed: it works at the output
resolution, so it costs about scale**2 times ESPCN's FLOPs per input pixel.
"""

from __future__ import annotations

import torch
from torch import nn

from .bicubic import Bicubic


class SRCNN(nn.Module):
    """Luma in (N,1,H,W) in [0,1], luma out (N,1,H*scale,W*scale)."""

    def __init__(self, scale: int, channels: tuple[int, int] = (64, 32)) -> None:
        super().__init__()
        c1, c2 = channels
        self.scale = scale
        self.upscale = Bicubic(scale)
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 9, padding=4, padding_mode="replicate"),
            nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c2, 1, 5, padding=2, padding_mode="replicate"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.upscale(x))
