"""ESPCN (Shi et al. 2016) for luma super-resolution, with a fixed bicubic residual.

The paper's 5-3-3 layout with 64/32 channels does all its work at low resolution
and ends in a pixel shuffle. Our variant uses ReLU (which ONNX Runtime fuses into
the convolutions; the paper's tanh and a PReLU are separate passes) and adds a
bicubic upscale of the input to the output, so the network only learns the detail
bicubic misses. The bicubic branch is a fixed 5x5
convolution that produces the ``scale**2`` sub-pixel phases directly, so it runs
before the same pixel shuffle: no extra full-resolution pass, and it exports to
ONNX as plain convolutions.
"""

from __future__ import annotations

import torch
from torch import nn

from .bicubic import BicubicPhases


class ESPCN(nn.Module):
    """Luma in (N,1,H,W) in [0,1], luma out (N,1,H*scale,W*scale)."""

    def __init__(
        self, scale: int, channels: tuple[int, int] = (64, 32), residual: bool = True, activation: str = "relu"
    ) -> None:
        super().__init__()
        c1, c2 = channels
        self.scale = scale
        self.residual = residual

        def act(c: int) -> nn.Module:
            # ReLU fuses into the convolution in ONNX Runtime; PReLU does not and made
            # the whole network 1.7x slower there (88 vs 52 ms at 640x360, x3).
            return nn.PReLU(c) if activation == "prelu" else nn.ReLU(inplace=True)

        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 5, padding=2),
            act(c1),
            nn.Conv2d(c1, c2, 3, padding=1),
            act(c2),
            nn.Conv2d(c2, scale * scale, 3, padding=1),
        )
        self.bicubic = BicubicPhases(scale)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.residual:
            y = y + self.bicubic(x)
        return self.shuffle(y)
