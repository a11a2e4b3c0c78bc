"""An SRGAN-style residual generator for forensic x4 luma super-resolution (Ledig et al. 2017).

SRGAN's generator is a stack of residual blocks at low resolution; it is trained
first with L1, then with L1 plus an adversarial loss and a feature loss, so it
draws sharper edges than a network trained on L1 alone. Ours keeps every block
at low resolution and ends, as ESPCN does, in ``scale**2`` sub-pixel phases plus
a fixed bicubic upscale of the input before one pixel shuffle: the network only
learns what bicubic misses, and nothing runs at output resolution. Luma in, luma
out, like the ESPCN family, so it drops into the same pipeline and benchmarks.
The discriminator and the feature network live with the training code
(``vidclear/training/gan.py``): they are not needed to run the generator.
"""

from __future__ import annotations

import torch
from torch import nn

from .bicubic import BicubicPhases


class ResidualBlock(nn.Module):
    """conv-ReLU-conv with an identity skip, no batch norm (as EDSR showed, BN only costs at inference)."""

    def __init__(self, channels: int, res_scale: float = 1.0) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.body(x)


class SRGANGenerator(nn.Module):
    """Luma in (N,1,H,W) in [0,1], luma out (N,1,H*scale,W*scale)."""

    def __init__(self, scale: int = 4, channels: int = 32, blocks: int = 6) -> None:
        super().__init__()
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[ResidualBlock(channels, 0.5) for _ in range(blocks)])
        self.fuse = nn.Conv2d(channels, channels, 3, padding=1)
        self.tail = nn.Conv2d(channels, scale * scale, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # starts as bicubic exactly
        nn.init.zeros_(self.tail.bias)
        self.bicubic = BicubicPhases(scale)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.head(x)
        f = f + self.fuse(self.blocks(f))
        return self.shuffle(self.tail(f) + self.bicubic(x))
