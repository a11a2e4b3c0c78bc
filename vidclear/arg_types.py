"""Argument types for counts, durations and report files, so that ``--frames 0`` is refused by the parser.

Without them argparse takes any number, and a zero or negative count or duration
ran to an empty or one-frame result instead of saying what was wrong; a report file
in a folder that does not exist failed with a traceback after the work was done,
and so did one on a full disk (``write_report``).
Shared by the commands and the training tools.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Callable

from .errors import OutputError, write_fault


def whole_number(least: int, hint: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number of ``least`` or more; ``hint`` says what the least means."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"give a whole number, not {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"give {least}{hint} or more, not {value}")
        return value

    return parse


positive_int = whole_number(1)
"""Frames, streams, a batch: 1 or more."""


def auto_or_positive_int(text: str) -> int | str:
    """``auto`` (the config's default: let vidclear choose) or 1 or more."""
    return text if text == "auto" else positive_int(text)


def seconds(zero_allowed: bool) -> Callable[[str], float]:
    """An argparse type: a number of seconds above 0, or of 0 or more when ``zero_allowed`` (a point in a video)."""
    bound = "of 0 or more" if zero_allowed else "above 0"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"give a number, not {text!r}") from None
        if not (value >= 0 if zero_allowed else value > 0) or value == float("inf"):  # nan fails both
            raise argparse.ArgumentTypeError(f"give a number of seconds {bound}, not {text}")
        return value

    return parse


positive_float = seconds(zero_allowed=False)
"""A duration: above 0."""
start_seconds = seconds(zero_allowed=True)
"""A point in a video: 0 or more seconds."""


def report_file(text: str) -> Path:
    """A file written when the work is done (a JSON summary, a table): checked now, so that a typo in its folder
    does not cost the run."""
    path = Path(text)
    folder = path.parent
    try:
        is_dir = path.is_dir()
    except OSError as e:  # a name longer than the file system allows
        raise argparse.ArgumentTypeError(f"cannot write {text}: {e.strerror or e}") from None
    if is_dir:
        raise argparse.ArgumentTypeError(f"{text} is a folder: name a file in it")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: the folder {folder} is not writable")
    return path


def write_report(path: Path, text: str) -> None:
    """Write a report file checked by ``report_file``, in place (so that /dev/stdout and pipes work); a full
    disk, a quota or a vanished folder is one line naming the file, not a traceback after the work."""
    try:
        path.write_text(text)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {write_fault(e)}") from None
