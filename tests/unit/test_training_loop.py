"""When the training tools checkpoint and validate, and what they accept for it."""

from __future__ import annotations

import argparse

import pytest

from vidclear.training.loop import due, steps_between


def test_due_every_n_steps_and_at_the_last() -> None:
    assert [s for s in range(1, 11) if due(s, 4, 10)] == [4, 8, 10]


def test_due_with_zero_is_the_last_step_only() -> None:
    assert [s for s in range(1, 11) if due(s, 0, 10)] == [10]


@pytest.mark.parametrize("text, message", [("-1", "must be 0 (only at the end) or more, got -1"),
                                           ("ten", "not a whole number of steps: 'ten'")])
def test_steps_between_refuses_with_one_line(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        steps_between(text)
    assert steps_between("0") == 0 and steps_between("500") == 500
