"""The batch journal survives what a crash or a bad disk leaves in it: it was a UnicodeDecodeError traceback on
a damaged line, and the entry after a line cut short was lost by being appended to it."""

import json
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from vidclear.archive.inputs import Job
from vidclear.archive.journal import JOURNAL, Journal, remove_partials
from vidclear.io.image_sink import ImageSink


def entry(key: str, status: str = "done") -> str:
    return json.dumps({"key": key, "input": f"/in/{key}.mp4", "output": f"/out/{key}.mp4", "status": status})


def test_damaged_lines_are_skipped_and_a_line_cut_short_does_not_swallow_the_next(tmp_path):
    (tmp_path / JOURNAL).write_bytes(
        entry("a").encode() + b"\n"
        + b"\xff\xfe\x00 bytes a failing disk returned\n"
        + b"[1, 2]\n"
        + entry("b", "failed").encode() + b"\n"
        + entry("c").encode()[:25])  # the last line, cut short by a crash
    journal = Journal(tmp_path)
    assert sorted(journal.entries) == ["a", "b"] and journal.failures == {"b": 1}
    journal.record("d", Job(tmp_path / "d.mp4", tmp_path / "out" / "d.mp4"), status="done")
    journal.close()

    again = Journal(tmp_path)
    again.close()
    assert sorted(again.entries) == ["a", "b", "d"], "the line after the cut one is read"
    assert again.entries["d"]["output"] == str(tmp_path / "out" / "d.mp4")


class _Killed(BaseException):
    """A run killed while it renamed its picture into place."""


def test_the_picture_a_killed_run_was_writing_is_cleared_by_the_next_batch(tmp_path, monkeypatch):
    """Pictures are written whole through a temporary file; the one a SIGKILL leaves must be a name batch knows."""
    out = tmp_path / "out"
    sink = ImageSink(out / "plate_x3.png")
    sink.open(48, 32, Fraction(1, 25), Fraction(25))
    sink.write(av.VideoFrame.from_ndarray(np.full((32, 48, 3), 90, np.uint8), format="rgb24").reformat(
        format="yuv420p"), 0)
    temporaries = []

    def killed(src, dst):  # noqa: ANN001, ARG001
        temporaries.append(Path(src))
        raise _Killed

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(_Killed):
        sink.close(completed=True)
    monkeypatch.undo()
    temporaries[0].write_bytes(b"half a PNG")  # what SIGKILL leaves: an exception or SIGTERM removes it
    assert remove_partials(out) == 1 and not temporaries[0].exists() and not list(out.iterdir())


def test_the_settings_digest_holds_what_the_user_set_and_ignores_settings_added_later():
    from vidclear.archive.journal import settings_digest
    from vidclear.config import Config

    class Later(Config):  # a later vidclear with one more setting, left at its default
        sharpen_plates: bool = False

    plain = settings_digest(Config())
    assert settings_digest(Later()) == plain  # the same journal keys: finished files stay finished
    assert settings_digest(Config(model="espcn-x2", encoder={"crf": 18})) == plain  # the defaults, written out
    assert settings_digest(Config(pipeline={"queue_size": 3}, live={"stall_timeout": 9})) == plain  # how it runs
    changed = {settings_digest(Config(**s)) for s in ({"model": "espcn-x3"}, {"crop": "0,0,64,48"},
                                                      {"deinterlace": "off"}, {"encoder": {"crf": 20}})}
    assert len(changed) == 4 and plain not in changed
