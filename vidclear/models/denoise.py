"""An attention U-Net denoiser for night camera footage (Oktay et al. 2018's attention gates).

Sensor noise at night is grainy before it is dark, and a codec turns the grain
into blotches; the low-light network brightens both. This network removes them.

- **Input.** The noisy RGB frame and, for video, the previous noisy frame
  (6 channels). With no previous frame (the first frame, a still image) the
  frame itself is given twice, and the network was trained for that case too.
- **Levels.** Full, 1/2 and 1/4 resolution (32, 48 and 96 channels). The
  output is the input frame plus a predicted residual.
- **What did not train** (measured on tools/train_denoise.py's data, 400 steps,
  a narrower 16/32/64 version): with a 2x2 pixel unshuffle before the first
  convolution, or with LeakyReLU and a zero-initialised output layer, the network
  stayed at the input's error (0.0234 mean absolute error against 0.0237), where
  ReLU with PyTorch's default initialisation reached 0.0214, as a plain stack of
  convolutions did (0.0211).
- **Attention gates.** Each skip connection is multiplied by a per-pixel gate
  computed from the skip and the coarser decoder features, so the decoder takes
  detail from the encoder where it is structure, not where it is noise.

Sizes that are not a multiple of 4 are padded (replicate) and cropped back.
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True),
    )


class AttentionGate(nn.Module):
    """alpha = sigmoid(psi(relu(Wx x + Wg g))): a per-pixel weight in 0..1 for the skip features ``x``."""

    def __init__(self, skip: int, gate: int, inner: int) -> None:
        super().__init__()
        self.wx = nn.Conv2d(skip, inner, 1)
        self.wg = nn.Conv2d(gate, inner, 1)
        self.psi = nn.Conv2d(inner, 1, 1)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.psi(F.relu(self.wx(x) + self.wg(g))))


class AttentionUNetDenoiser(nn.Module):
    """RGB (N,3,H,W), or RGB and the previous RGB frame (N,6,H,W), in [0,1]; denoised RGB out."""

    size_multiple = 4

    def __init__(self, widths: tuple[int, int, int] = (32, 48, 96)) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.enc1 = _block(6, w1)  # two frames x 3 colours
        self.enc2 = _block(w1, w2)
        self.enc3 = _block(w2, w3)
        self.up3 = nn.Conv2d(w3, w2, 1)
        self.gate2 = AttentionGate(w2, w2, w2 // 2)
        self.dec2 = _block(2 * w2, w2)
        self.up2 = nn.Conv2d(w2, w1, 1)
        self.gate1 = AttentionGate(w1, w1, w1 // 2)
        self.dec1 = _block(2 * w1, w1)
        self.out = nn.Conv2d(w1, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        if x.shape[1] == 3:
            x = torch.cat([x, x], 1)
        m = self.size_multiple
        # No Python branch on the size: the ONNX export keeps the padding dynamic.
        xp = F.pad(x, (0, (m - w % m) % m, 0, (m - h % m) % m), mode="replicate")
        e1 = self.enc1(xp)
        e2 = self.enc2(F.avg_pool2d(e1, 2))
        e3 = self.enc3(F.avg_pool2d(e2, 2))
        g2 = self.up3(F.interpolate(e3, scale_factor=2.0, mode="bilinear", align_corners=False))
        d2 = self.dec2(torch.cat([g2, self.gate2(e2, g2)], 1))
        g1 = self.up2(F.interpolate(d2, scale_factor=2.0, mode="bilinear", align_corners=False))
        d1 = self.dec1(torch.cat([g1, self.gate1(e1, g1)], 1))
        residual = self.out(d1)
        # Not clamped here: a clamp stops the gradient wherever the noisy input leaves 0..1 and held training
        # back (measured); the pipeline and the evaluation clip the output.
        return (xp[:, :3] + residual)[..., :h, :w]
