"""L1 + SSIM training loss (SSIM with the 11x11 Gaussian window that evaluation uses)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gaussian_window(channels: int, size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    g = torch.exp(-((torch.arange(size, dtype=torch.float32) - size // 2) ** 2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(a: torch.Tensor, b: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of images in [0, 1], per channel (window from gaussian_window)."""
    c = a.shape[1]
    c1, c2 = 0.01**2, 0.03**2
    mu_a, mu_b = F.conv2d(a, window, groups=c), F.conv2d(b, window, groups=c)
    var_a = F.conv2d(a * a, window, groups=c) - mu_a**2
    var_b = F.conv2d(b * b, window, groups=c) - mu_b**2
    cov = F.conv2d(a * b, window, groups=c) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.mean()


class L1SSIMLoss(torch.nn.Module):
    """L1 + w * (1 - SSIM)."""

    def __init__(self, channels: int, ssim_weight: float) -> None:
        super().__init__()
        self.ssim_weight = ssim_weight
        self.register_buffer("window", gaussian_window(channels))

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = F.l1_loss(out, target)
        if self.ssim_weight > 0:
            loss = loss + self.ssim_weight * (1 - ssim(out, target, self.window))
        return loss
