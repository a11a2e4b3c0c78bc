"""srgan-x4 and denoise: shapes at any size, how they start, the previous frame, and their registry entries."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from media import REPO
from vidclear.models.bicubic import Bicubic
from vidclear.models.denoise import AttentionUNetDenoiser
from vidclear.models.registry import WEIGHTS_DIR, get_model
from vidclear.models.srgan import SRGANGenerator
from vidclear.pipeline.stages import PreviousFrame
from vidclear.training.gan import PatchDiscriminator, discriminator_loss, generator_losses


@pytest.mark.parametrize(("h", "w"), [(8, 8), (37, 51), (64, 80), (9, 130)])
def test_the_denoiser_keeps_any_size_with_or_without_a_previous_frame(h, w):
    net = AttentionUNetDenoiser().eval()
    x = torch.rand(2, 3, h, w)
    with torch.no_grad():
        assert net(x).shape == (2, 3, h, w)
        assert net(torch.cat([x, x], 1)).shape == (2, 3, h, w)
        assert torch.equal(net(x), net(torch.cat([x, x], 1))), "no previous frame is the frame itself"


def test_the_denoisers_attention_gates_weigh_the_skips_between_0_and_1():
    net = AttentionUNetDenoiser().eval()
    with torch.no_grad():
        alpha = torch.sigmoid(net.gate1.psi(torch.relu(net.gate1.wx(torch.rand(1, 32, 12, 16))
                                                         + net.gate1.wg(torch.rand(1, 32, 12, 16)))))
    assert alpha.shape == (1, 1, 12, 16) and float(alpha.min()) > 0 and float(alpha.max()) < 1


def test_the_trained_denoiser_uses_the_previous_frame():
    """A previous frame with other noise changes the output: the network reads it."""
    net = get_model("denoise").load()
    rng = np.random.default_rng(0)
    clean = torch.from_numpy(rng.uniform(0.3, 0.7, (1, 3, 32, 32)).astype(np.float32))
    a = clean + 0.05 * torch.randn_like(clean)
    b = clean + 0.05 * torch.randn_like(clean)
    with torch.no_grad():
        assert float((net(torch.cat([a, a], 1)) - net(torch.cat([a, b], 1))).abs().max()) > 1e-3


def test_an_untrained_generator_is_bicubic_and_upscales_any_size():
    gen = SRGANGenerator(4).eval()
    x = torch.rand(1, 1, 11, 17)
    with torch.no_grad():
        y = gen(x)
        assert y.shape == (1, 1, 44, 68)
        assert torch.allclose(y, Bicubic(4)(x), atol=1e-5)


def test_gan_losses_give_gradients_to_their_own_side_only():
    gen, disc = SRGANGenerator(4, 8, 1), PatchDiscriminator((4, 4, 4))
    lr, hr = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 32, 32)
    out = gen(lr)
    feature, adversarial = generator_losses(disc, out, hr)
    (feature + adversarial).backward()
    assert all(p.grad is not None for p in gen.parameters() if p.requires_grad)
    disc.zero_grad()
    gen.zero_grad()
    discriminator_loss(disc, gen(lr), hr).backward()
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in gen.parameters())
    assert all(p.grad is not None for p in disc.parameters())


def test_previous_frame_pairs_each_frame_with_the_one_before():
    prev = PreviousFrame()
    frames = np.arange(4 * 3 * 2 * 2, dtype=np.float32).reshape(4, 3, 2, 2)
    first = prev.pair(frames[:1])
    assert first.shape == (1, 6, 2, 2) and np.array_equal(first[0, 3:], frames[0]), "the first goes with itself"
    rest = prev.pair(frames[1:])
    for i, paired in enumerate(rest, start=1):
        assert np.array_equal(paired[:3], frames[i]) and np.array_equal(paired[3:], frames[i - 1])
    bigger = prev.pair(np.ones((1, 3, 4, 4), np.float32))
    assert np.array_equal(bigger[0, 3:], bigger[0, :3]), "a new size starts again"
    prev.clear()
    assert np.array_equal(prev.pair(frames[2:3])[0, 3:], frames[2])


def test_models_json_lists_srgan_and_denoise_with_their_cost_and_cards():
    r = subprocess.run([sys.executable, "-m", "vidclear", "models", "--json"], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    models = {m["name"]: m for m in json.loads(r.stdout)}
    srgan, denoise, espcn = models["srgan-x4"], models["denoise"], models["espcn-x4"]
    assert srgan["task"] == "sr" and srgan["scale"] == 4 and srgan["frames"] == 1
    assert srgan["params"] == 125_168 and srgan["flops_per_input_pixel"] > 4 * espcn["flops_per_input_pixel"]
    assert denoise["task"] == "denoise" and denoise["scale"] == 1 and denoise["frames"] == 2
    assert denoise["params"] == 270_829 and denoise["flops_per_input_pixel"] > 0
    for m in (srgan, denoise):
        card = (REPO / m["card"]).read_text()
        assert "--seed" in card and "tools/train_" in card, f"{m['name']}: the card gives the exact commands"
        assert (WEIGHTS_DIR / (REPO / m["weights"]).name).exists()


def test_the_models_table_says_what_each_model_is_for():
    """A newcomer chooses by it: the -cctv models are the ones for real cameras, srgan-x4 is not for live."""
    r = subprocess.run([sys.executable, "-m", "vidclear", "models"], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line for line in r.stdout.splitlines()[1:]}
    assert rows["espcn-x3-cctv"].endswith("x3 luma super-resolution for real cameras: noise, blur and codec artefacts")
    assert rows["srgan-x4"].endswith("(slow: offline files, not live)")
    assert r.stdout.splitlines()[0].split() == ["name", "task", "scale", "params", "FLOPs/px", "what", "it", "is"]
