"""A small multi-scale low-light network (< 100K parameters) for night video.

The design this product grew from ran the image at several scales and fused
them, but its convolutions had no padding, so the branches came out at
different sizes and could not be concatenated. This one pads every convolution
("same" size), pads the input to a multiple of 4 and crops back, so any frame
size works and the three scales line up exactly.

How it works, in the gamma-encoded RGB the camera delivers:
1. Exposure normalisation: multiplying a gamma-encoded image by k is exactly an
   exposure change of k**2.2 in linear light, so the frame is first scaled to a
   fixed mean brightness. The network therefore never has to learn the (unknown,
   unrecoverable) exposure; it sees a bright, noisy image and the gain it took,
   which tells it how strong the noise is.
2. A three-level U-Net (full, 1/2, 1/4 resolution; skip connections by
   concatenation) predicts a residual that removes noise and colour casts.
3. A global head predicts one brightness multiplier per image, because how
   bright the scene "should" be is a property of its content. The shipped
   head (``head="mlp"``) reads the mean of the features at all three scales and
   the log gain, and is fitted on whole images (tools/fit_brightness_head.py):
   patches cannot teach it how bright a whole scene is; then the whole network
   is tuned on whole images (tools/tune_lowlight_whole.py). The patch training
   of the trunk uses a linear head on the coarsest features (``head="linear"``).
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

TARGET_MEAN = 0.4  # mean brightness the input is normalised to (gamma-encoded, 0..1)
MAX_GAIN = 64.0


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Bilinear x2 upsampling (``align_corners=False``), the decoder's.

    The CUDA backward of ``F.interpolate`` adds into its gradient in no fixed
    order and has no deterministic kernel, so a training run that asked for
    ``torch.use_deterministic_algorithms`` (``--deterministic``) computes the same
    values as a transposed convolution, whose backward has one. Inference and
    the ONNX export keep ``F.interpolate``.
    """
    if torch.is_grad_enabled() and torch.are_deterministic_algorithms_enabled():
        return bilinear_upsample2x_by_convolution(x)
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def bilinear_upsample2x_by_convolution(x: torch.Tensor) -> torch.Tensor:
    """``F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)`` as a transposed convolution.

    Each output pixel is 3/4 of its nearer and 1/4 of its farther input
    neighbour in each direction, edges repeated: a stride-2 transposed
    convolution with the kernel (1/4, 3/4, 3/4, 1/4) in each direction over the
    input with its border rows and columns repeated once, cropped by 3.
    Edges are repeated by concatenation, not ``F.pad``, to keep every backward
    deterministic on CUDA.
    """
    _, c, h, w = x.shape
    x = torch.cat([x[:, :, :1], x, x[:, :, -1:]], 2)
    x = torch.cat([x[..., :1], x, x[..., -1:]], 3)
    taps = torch.tensor([0.25, 0.75, 0.75, 0.25], dtype=x.dtype, device=x.device)
    kernel = (taps[:, None] * taps[None, :]).expand(c, 1, 4, 4)
    return F.conv_transpose2d(x, kernel, stride=2, groups=c)[:, :, 3:3 + 2 * h, 3:3 + 2 * w]


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.LeakyReLU(0.1, inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.LeakyReLU(0.1, inplace=True),
    )


class LowLightNet(nn.Module):
    """RGB in (N,3,H,W) in [0,1], enhanced RGB out, same size."""

    size_multiple = 4

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 48), head: str = "mlp") -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.head = head
        self._coarse = slice(w1 + w2, w1 + w2 + w3)  # where the coarsest features sit in the summary
        self.enc1 = _block(4, w1)  # RGB + log-gain plane
        self.enc2 = _block(w1, w2)
        self.enc3 = _block(w2, w3)
        self.dec2 = _block(w3 + w2, w2)
        self.dec1 = _block(w2 + w1, w1)
        self.out = nn.Conv2d(w1, 3, 3, padding=1)
        if head == "linear":
            self.brightness: nn.Module = nn.Linear(w3, 1)
        elif head == "mlp":
            self.brightness = nn.Sequential(nn.Linear(w1 + w2 + w3 + 1, 32), nn.LeakyReLU(0.1), nn.Linear(32, 1))
        else:
            raise ValueError(f"unknown brightness head {head!r}")
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.reset_head()

    def reset_head(self) -> None:
        """A head that starts at multiplier 1 (its last layer zero)."""
        last = self.brightness if isinstance(self.brightness, nn.Linear) else self.brightness[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def head_input(self, summary: torch.Tensor) -> torch.Tensor:
        return summary[:, self._coarse] if self.head == "linear" else summary

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        restored, summary = self.restore(x)
        return self.apply_brightness(restored, summary)[..., :h, :w]

    def multiplier(self, summary: torch.Tensor) -> torch.Tensor:
        """The head's brightness multiplier per image, (N,), in exp(-1)..exp(1)."""
        return torch.exp(torch.tanh(self.brightness(self.head_input(summary)))).view(-1)

    def apply_brightness(self, restored: torch.Tensor, summary: torch.Tensor) -> torch.Tensor:
        """Scale the restored image by the head's multiplier."""
        return (restored * self.multiplier(summary).view(-1, 1, 1, 1)).clamp(0.0, 1.0)

    def restore(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The denoised, exposure-normalised image (padded) and the per-image summary the head reads."""
        h, w = x.shape[-2], x.shape[-1]
        m = self.size_multiple
        # No Python branch on the size: the ONNX export must keep the padding dynamic.
        x = F.pad(x, (0, (m - w % m) % m, 0, (m - h % m) % m), mode="replicate")
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        gain = (TARGET_MEAN / (mean + 1e-4)).clamp(1.0, MAX_GAIN)
        xg = x * gain
        log_gain = torch.log(gain).expand(-1, 1, x.shape[-2], x.shape[-1]) / 4
        e1 = self.enc1(torch.cat([xg, log_gain], 1))
        e2 = self.enc2(F.avg_pool2d(e1, 2))
        e3 = self.enc3(F.avg_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([upsample2x(e3), e2], 1))
        d1 = self.dec1(torch.cat([upsample2x(d2), e1], 1))
        residual = self.out(d1)
        summary = torch.cat([e1.mean(dim=(2, 3)), e2.mean(dim=(2, 3)), e3.mean(dim=(2, 3)),
                             torch.log(gain).view(-1, 1) / 4], 1)
        return xg + residual, summary
