"""Reparameterised training: the expanded ESPCN folds back into exactly the plain one."""

from __future__ import annotations

import pytest
import torch

from vidclear.models.espcn import ESPCN
from vidclear.models.registry import flops_per_input_pixel
from vidclear.training.reparam import ExpandedConv, expand, fold


def _trained_expanded(scale: int, factor: int = 2) -> torch.nn.Module:
    """An expanded ESPCN whose every trainable weight is random, as after training (the zero 1x1 no longer zero)."""
    torch.manual_seed(scale)
    wide = expand(ESPCN(scale), factor)
    with torch.no_grad():
        for p in wide.parameters():
            if p.requires_grad:
                p.normal_(0, 0.05)
    return wide


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_folded_network_computes_what_the_expanded_one_did_borders_included(scale: int) -> None:
    wide = _trained_expanded(scale)
    plain = fold(wide)
    x = torch.rand(2, 1, 13, 19)
    with torch.no_grad():
        a, b = wide(x), plain(x)
    assert a.shape == (2, 1, 13 * scale, 19 * scale)
    assert (a - b).abs().max().item() < 1e-5
    edge = (a - b)[..., :scale * 3, :].abs().max().item()  # the rows whose receptive field reaches the padding
    assert edge < 1e-5
    assert not any(isinstance(m, ExpandedConv) for m in plain.modules())


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_folded_weights_are_a_plain_espcn_with_the_same_parameters_and_flops(scale: int) -> None:
    wide = _trained_expanded(scale)
    trainable = sum(p.numel() for p in wide.parameters() if p.requires_grad)
    plain_model = ESPCN(scale)
    assert trainable > 5 * sum(p.numel() for p in plain_model.parameters() if p.requires_grad)
    state = fold(wide).state_dict()
    plain_model.load_state_dict(state, strict=True)  # same keys and shapes: the registry loads it as any espcn
    assert flops_per_input_pixel(plain_model) == flops_per_input_pixel(ESPCN(scale))
    assert torch.equal(state["bicubic.weight"], ESPCN(scale).state_dict()["bicubic.weight"])  # the fixed branch


def test_a_fresh_expansion_starts_from_the_weights_it_was_given() -> None:
    torch.manual_seed(0)
    base = ESPCN(3)
    x = torch.rand(1, 1, 11, 11)
    wide = expand(base, 4)
    with torch.no_grad():
        assert torch.equal(wide(x), base(x))
    widths = [m.wide.out_channels for m in wide.modules() if isinstance(m, ExpandedConv)]
    assert widths == [4 * 64, 4 * 64, 4 * 32]  # factor x max(in, out) for the 5x5 1->64, 3x3 64->32, 3x3 32->9


def test_expansion_trains_and_still_folds() -> None:
    torch.manual_seed(1)
    wide = expand(ESPCN(2), 2)
    opt = torch.optim.Adam([p for p in wide.parameters() if p.requires_grad], lr=1e-2)
    x, y = torch.rand(4, 1, 8, 8), torch.rand(4, 1, 16, 16)
    for _ in range(3):
        loss = (wide(x) - y).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    narrow = [m.narrow.weight for m in wide.modules() if isinstance(m, ExpandedConv)]
    assert all(w.abs().sum() > 0 for w in narrow)  # the wide branches took part
    with torch.no_grad():
        assert (wide(x) - fold(wide)(x)).abs().max().item() < 1e-5


def test_bad_factor_and_unsupported_convolution_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        expand(ESPCN(2), 0)
    with pytest.raises(ValueError, match="stride-1"):
        ExpandedConv(torch.nn.Conv2d(4, 4, 3, stride=2), 8)
