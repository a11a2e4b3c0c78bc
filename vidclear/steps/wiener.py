"""Wiener deconvolution of a known Gaussian blur, with torch.fft.

The PSF is centred, padded to the frame size and shifted so its centre is at
the origin; its transfer function H is cached per frame size, so each frame
costs one forward and one inverse real FFT. ``nsr`` is the regularisation
constant K (noise-to-signal power ratio) in  X = conj(H) Y / (|H|^2 + K).
"""

from __future__ import annotations

import numpy as np
import torch


def gaussian_psf(sigma: float, size: int | None = None) -> np.ndarray:
    size = size or (2 * int(np.ceil(3 * sigma)) + 1)
    ax = np.arange(size) - size // 2
    g = np.exp(-(ax**2) / (2 * sigma**2))
    psf = np.outer(g, g)
    return psf / psf.sum()


def psf_transfer(psf: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    """rfft2 of the PSF zero-padded to ``shape`` with its centre moved to (0, 0)."""
    padded = np.zeros(shape, np.float64)
    kh, kw = psf.shape
    padded[:kh, :kw] = psf
    padded = np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return torch.fft.rfft2(torch.from_numpy(padded))


class WienerDeconvolver:
    def __init__(self, psf: np.ndarray, nsr: float) -> None:
        self.psf = psf
        self.nsr = nsr
        self._filters: dict[tuple[int, int], torch.Tensor] = {}

    def _filter(self, shape: tuple[int, int]) -> torch.Tensor:
        f = self._filters.get(shape)
        if f is None:
            h = psf_transfer(self.psf, shape)
            f = torch.conj(h) / (h.abs() ** 2 + self.nsr)
            self._filters[shape] = f
        return f

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Deconvolve a 2-D float image (any range); returns float64 of the same shape.

        The image is mirror-padded by the PSF radius first, so the FFT's
        wrap-around does not ring at the borders.
        """
        pad = self.psf.shape[0]
        padded = np.pad(image.astype(np.float64), pad, mode="symmetric")
        y = torch.fft.rfft2(torch.from_numpy(padded))
        x = torch.fft.irfft2(y * self._filter(padded.shape), s=padded.shape)
        return x.numpy()[pad:-pad, pad:-pad]
