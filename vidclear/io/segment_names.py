"""Segment patterns: the strftime names a camera recording's files take, and which files a pattern names.

``rec/%Y-%m-%d/door_%H%M%S.ts`` records ``rec/2026-12-04/door_153000.ts`` and so on: a directive (``%`` and a
letter) in the file name makes a pattern, and the folders may carry directives too (made as segments need them).
Each directive matches only what ``strftime`` writes for it (``%Y`` four digits, ``%H`` two), so the files of
``door_%H%M%S.ts`` are never confused with those of ``door_side_%H%M%S.ts``.
"""

from __future__ import annotations

import re
from pathlib import Path

DIRECTIVE = re.compile(r"%[A-Za-z]")
# What strftime writes for each directive; any other is taken as one or more characters of a name.
DIRECTIVE_TEXT = {"Y": r"\d{4}", "y": r"\d{2}", "m": r"\d{2}", "d": r"\d{2}", "H": r"\d{2}", "I": r"\d{2}",
                  "M": r"\d{2}", "S": r"\d{2}", "j": r"\d{3}", "U": r"\d{2}", "W": r"\d{2}", "V": r"\d{2}",
                  "u": r"\d", "w": r"\d", "G": r"\d{4}", "s": r"\d+", "%": "%"}


def has_directive(text: str) -> bool:
    """A strftime directive in ``text``: a ``%`` alone, as in ``clip 100%.mp4``, or ``%%`` is an ordinary name."""
    return DIRECTIVE.search(text.replace("%%", "")) is not None


def is_segment_pattern(target: str) -> bool:
    """A strftime directive (as in ``cam_%Y%m%d_%H%M%S.ts``) in the file name."""
    return has_directive(Path(target).name)


def pattern_root(pattern: str) -> tuple[Path, tuple[str, ...]]:
    """The folder a segment pattern starts from (its components before the first directive) and the components
    below it: ``rec/%Y-%m-%d/door_%H%M%S.ts`` -> ``rec``, ``("%Y-%m-%d", "door_%H%M%S.ts")``."""
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if has_directive(part)), len(parts) - 1)
    return (Path(*parts[:fixed]) if fixed else Path(".")), parts[fixed:]


def part_pattern(part: str, last: bool) -> str:
    """A regular expression for one path component of a pattern; the file name may carry the ``_N`` a second
    segment started within the same second gets before its extension."""
    out, i = [], 0
    while i < len(part):
        if part[i] == "%" and i + 1 < len(part) and (part[i + 1] == "%" or part[i + 1].isalpha()):
            out.append(DIRECTIVE_TEXT.get(part[i + 1], r"[^/]+?"))
            i += 2
        else:
            out.append(re.escape(part[i]))
            i += 1
    text = "".join(out)
    _, dot, ext = part.rpartition(".")
    if last and dot and "%" not in ext:
        text = text[: len(text) - len(re.escape("." + ext))] + r"(?:_\d+)?" + re.escape("." + ext)
    return text


def names_of(below: tuple[str, ...]) -> re.Pattern[str]:
    """What the relative paths (``a/b.ts``) of the files a pattern's components below its root name match."""
    return re.compile("/".join(part_pattern(part, i == len(below) - 1) for i, part in enumerate(below)) + "$")


def recording_folder(target: str) -> Path:
    """The folder a file or segment output writes in (a dated pattern's root): where its disk space is told."""
    if is_segment_pattern(target):
        return pattern_root(target)[0]
    parent = Path(target).parent
    return parent if str(parent) else Path(".")
