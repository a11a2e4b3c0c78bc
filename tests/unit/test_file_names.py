"""Temporary names beside an output stay within the file system's 255-byte limit on a name."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from vidclear.export.files import temporary_beside
from vidclear.io.names import fitting
from vidclear.io.sink import temporary_path


def test_a_name_that_fits_is_kept_and_a_long_one_is_cut_to_the_room_with_a_hash():
    assert fitting("cam_2026-12-03", 20) == "cam_2026-12-03"
    a, b = fitting("x" * 300 + "a", 40), fitting("x" * 300 + "b", 40)
    assert len(a) == len(b) == 40 and a != b and a.startswith("x" * 31 + "~")
    assert len(fitting("é" * 200, 41).encode()) <= 41  # bytes, not characters, and no character cut in two


def test_an_output_whose_name_fits_gets_a_temporary_name_that_fits(tmp_path):
    """A 250-byte output name could not be written: '.NAME.vidclear-partial.mp4' is 268 bytes."""
    out = tmp_path / ("b" * 246 + ".mp4")
    tmp = temporary_path(out)
    assert len(os.fsencode(tmp.name)) <= 255 and tmp.parent == out.parent
    assert fnmatch.fnmatch(tmp.name, ".*.vidclear-partial.mp4"), "batch's clean-up and input scan still know it"
    tmp.touch()
    assert temporary_path(tmp_path / "short.mkv").name == ".short.vidclear-partial.mkv"
    made = temporary_beside(tmp_path / ("c" * 250 + ".onnx"), ".onnx")
    assert made.exists() and len(os.fsencode(made.name)) <= 255 and made.name.startswith(".ccc")
    assert Path(made).suffix == ".onnx"
