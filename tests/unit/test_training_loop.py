"""When the training tools checkpoint and validate, what they accept for it, and how candidates are read."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pytest
import torch

from media import REPO
from vidclear.models.espcn import ESPCN
from vidclear.training.loop import due, steps_between

sys.path.insert(0, str(REPO))
from tools.train_sr import sr_upscaler  # noqa: E402


def test_due_every_n_steps_and_at_the_last() -> None:
    assert [s for s in range(1, 11) if due(s, 4, 10)] == [4, 8, 10]


def test_due_with_zero_is_the_last_step_only() -> None:
    assert [s for s in range(1, 11) if due(s, 0, 10)] == [10]


@pytest.mark.parametrize("text, message", [("-1", "give 0 (only at the end) or more, not -1"),
                                           ("ten", "give a whole number, not 'ten'")])
def test_steps_between_refuses_with_one_line(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        steps_between(text)
    assert steps_between("0") == 0 and steps_between("500") == 500


def test_the_selection_tools_read_weight_files_of_any_width(tmp_path) -> None:
    """tools/sr_legibility.py and sr_heldout.py read candidates through sr_upscaler, wider ones included."""
    torch.manual_seed(0)
    model = ESPCN(3, (24, 12)).eval()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    y = np.random.default_rng(0).uniform(16, 235, (10, 14))
    with torch.no_grad():
        want = model(torch.from_numpy(y / 255).float()[None, None])[0, 0].numpy() * 255
    got = sr_upscaler(tmp_path / "w.pt", 3)(y)
    assert got.shape == (30, 42)
    assert np.abs(got - want).max() < 1e-3
