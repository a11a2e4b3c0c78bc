"""The training SSIM (separable, torch) must equal the evaluation's SSIM (2-D window, numpy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidclear.evaluation.metrics import ssim as eval_ssim
from vidclear.training.losses import InkLoss, L1SSIMLoss, gaussian_window, ssim


def _pair(channels: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:40, 0:48] / 10.0
    base = 0.5 + 0.3 * np.sin(yy[..., None] + xx[..., None] * np.arange(1, channels + 1))
    a = np.clip(base, 0, 1)
    b = np.clip(base + rng.normal(0, 0.08, base.shape), 0, 1)
    return a, b


def _torch(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x.transpose(2, 0, 1)[None].astype(np.float32))


@pytest.mark.parametrize("channels", [1, 3])
def test_training_ssim_matches_evaluation(channels: int) -> None:
    a, b = _pair(channels)
    want = eval_ssim(a[..., 0] if channels == 1 else a, b[..., 0] if channels == 1 else b, peak=1.0)
    got = ssim(_torch(a), _torch(b), gaussian_window()).item()
    assert 0.2 < want < 0.95
    assert got == pytest.approx(want, abs=2e-5)


def test_ssim_of_an_image_with_itself_is_one_and_noise_lowers_it() -> None:
    a, b = _pair(1, seed=3)
    w = gaussian_window()
    assert ssim(_torch(a), _torch(a), w).item() == pytest.approx(1.0, abs=1e-6)
    assert ssim(_torch(a), _torch(b), w).item() < 0.95


def test_loss_is_l1_without_ssim_weight_and_adds_it_with_one() -> None:
    a, b = _pair(1, seed=5)
    out, target = _torch(a).requires_grad_(True), _torch(b)
    l1 = F.l1_loss(out, target).item()
    assert L1SSIMLoss(0.0)(out, target).item() == pytest.approx(l1)
    s = ssim(out, target, gaussian_window()).item()
    loss = L1SSIMLoss(0.3)(out, target)
    assert loss.item() == pytest.approx(l1 + 0.3 * (1 - s), rel=1e-6)
    loss.backward()
    assert out.grad is not None and float(out.grad.abs().sum()) > 0


def test_the_window_sigma_sets_its_size_and_the_default_is_evaluations() -> None:
    assert torch.equal(L1SSIMLoss(0.3).window, gaussian_window(11, 1.5))
    fine = L1SSIMLoss(0.3, sigma=0.75)
    assert fine.window.numel() == 7 and torch.equal(fine.window, gaussian_window(7, 0.75))
    a, b = _pair(1, seed=7)
    out, target = _torch(a), _torch(b)
    l1 = F.l1_loss(out, target).item()
    assert fine(out, target).item() == pytest.approx(l1 + 0.3 * (1 - ssim(out, target, fine.window).item()), rel=1e-6)
    assert fine(out, target).item() != pytest.approx(L1SSIMLoss(0.3)(out, target).item(), rel=1e-4)


def test_ink_loss_charges_pixels_on_the_wrong_side_and_ignores_flat_noise() -> None:
    target = torch.full((1, 1, 48, 48), 0.8)
    target[..., 20:28, 10:38] = 0.1  # a dark stroke on paper
    ink = InkLoss(sigma=4.0, contrast=0.08)
    assert ink(target, target).item() == 0.0
    flat = torch.full((1, 1, 48, 48), 0.5)
    noisy = flat + 0.03 * torch.randn(flat.shape, generator=torch.Generator().manual_seed(0))
    assert ink(noisy, flat).item() == 0.0, "no pixel of a flat target is clearly ink or paper"
    faded = target.clone()
    faded[..., 20:28, 10:38] = 0.7  # the stroke nearly gone: still darker than paper, not by the margin
    washed = torch.full_like(target, 0.8)  # the stroke gone
    assert 0 < ink(faded, target).item() < ink(washed, target).item()
    out = washed.clone().requires_grad_(True)
    ink(out, target).backward()
    assert out.grad[..., 24, 20].item() > 0, "descending the loss darkens the stroke"
    assert out.grad[..., 5, 5].item() == 0.0, "paper already on its side costs nothing"
