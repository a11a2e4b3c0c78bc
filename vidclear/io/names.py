"""File names within the file system's limit (255 bytes on ext4, XFS, Btrfs and tmpfs).

An output is written under a temporary name beside it and renamed into place;
that name adds a tag to the output's own, so an output whose name fits (a camera
export named by its timestamps and site, say) could fail only because its
temporary name did not. ``fitting`` shortens the part taken from the output's
name, and a hash of the whole keeps two long names that share a start apart.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Collection

NAME_MAX = 255
# in the name of every file an output is written under until it is whole: batch removes those a killed run left
PARTIAL_TAG = ".vidclear-partial"


def name_max(folder: Path) -> int:
    """The longest file name ``folder``'s file system allows, in bytes (255 where it cannot say)."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return NAME_MAX


def fitting(core: str, room: int) -> str:
    """``core`` if it is at most ``room`` bytes, else its start and '~' and 8 hex digits of its hash, ``room``
    bytes at most (a character is never cut in two)."""
    raw = os.fsencode(core)
    if len(raw) <= room:
        return core
    tail = "~" + hashlib.sha256(raw).hexdigest()[:8]
    return raw[: max(0, room - len(tail))].decode("utf-8", "ignore") + tail


def free_name(path: Path, taken: Collection[Path] = ()) -> Path:
    """``path``, or ``STEM_N.EXT`` with the first N free (neither on disk nor ``taken``): a recording is never
    written over."""
    candidate, n = path, 1
    while candidate.exists() or candidate in taken:
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
        n += 1
    return candidate
