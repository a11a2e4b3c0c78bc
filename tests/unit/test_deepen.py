"""The depth probe: a deepened ESPCN starts as the network it was made from, and its weight file loads back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from media import REPO
from vidclear.models.espcn import ESPCN
from vidclear.training.deepen import added_layers, deepen

sys.path.insert(0, str(REPO))
from tools.train_sr import sr_network_from_file  # noqa: E402


def _trained(scale: int) -> ESPCN:
    """An ESPCN with random weights, as after training."""
    torch.manual_seed(scale)
    model = ESPCN(scale)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.normal_(0, 0.1)
    return model.eval()


@pytest.mark.parametrize("scale", [2, 3])
def test_deepened_network_computes_what_it_did_and_then_learns_with_the_new_layers(scale: int) -> None:
    model = _trained(scale)
    x = torch.rand(2, 1, 11, 17)
    with torch.no_grad():
        before = model(x)
        deep = deepen(model, 3)
        after = deep(x)
    assert added_layers(deep.state_dict()) == 3
    assert torch.equal(before, after)
    deep(x).mean().backward()  # the inserted layers take part in training
    assert deep.body[4].weight.grad is not None and deep.body[4].weight.grad.abs().sum() > 0


def test_a_deepened_weight_file_loads_back_and_a_plain_one_stays_plain(tmp_path: Path) -> None:
    plain = _trained(3)
    plain_file, deep_file = tmp_path / "plain.pt", tmp_path / "deep.pt"
    torch.save(plain.state_dict(), plain_file)
    deep = deepen(_trained(3), 2)
    with torch.no_grad():
        deep.body[4].weight.add_(0.01)  # no longer the identity: the file must carry these layers' weights
    torch.save(deep.state_dict(), deep_file)
    x = torch.rand(1, 1, 9, 9)
    with torch.no_grad():
        assert torch.equal(sr_network_from_file(deep_file, 3)(x), deep(x))
        assert torch.equal(sr_network_from_file(plain_file, 3)(x), plain(x))
    assert added_layers(torch.load(plain_file, weights_only=True)) == 0


def test_only_relu_networks_can_be_deepened() -> None:
    with pytest.raises(ValueError, match="ReLU"):
        deepen(ESPCN(3, activation="prelu"), 1)


def test_a_missing_teacher_is_refused_before_any_work(tmp_path: Path, capsys) -> None:
    from tools.train_sr import main

    with pytest.raises(SystemExit) as stop:
        main(["--scale", "3", "--teacher", str(tmp_path / "none.pt"), "--out", str(tmp_path / "w.pt")])
    assert stop.value.code == 2
    assert f"--teacher {tmp_path / 'none.pt'}: no such weight file" in capsys.readouterr().err
    assert not (tmp_path / "w.pt").exists()


def test_deepening_a_prelu_network_is_refused_before_any_work(tmp_path: Path, capsys) -> None:
    from tools.train_sr import main

    with pytest.raises(SystemExit) as stop:
        main(["--scale", "3", "--deepen", "2", "--activation", "prelu", "--out", str(tmp_path / "w.pt")])
    assert stop.value.code == 2
    assert "--deepen is for --arch espcn with ReLU activations" in capsys.readouterr().err
    assert not any(tmp_path.iterdir()), "nothing written"
