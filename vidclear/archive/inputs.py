"""What ``vidclear batch`` was given (files, folders, globs, ``@list.txt``) as jobs: input -> output.

Outputs are named after their inputs: ``OUTDIR/<stem>.<ext>``, and the tree
below a folder input is mirrored below OUTDIR. The container is the input's
when vidclear writes it, else ``--ext`` or .mkv (which takes any audio).
"""

from __future__ import annotations

import glob
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from ..errors import ConfigError, InputError
from ..io.image_sink import IMAGE_EXTENSIONS
from ..io.live import is_live
from ..io.names import PARTIAL_TAG
from ..io.sink import CONTAINERS
from ..secrets import redact

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".ts", ".m2ts", ".mts", ".avi", ".m4v", ".webm", ".flv", ".mpg", ".mpeg",
                  ".wmv", ".3gp", ".y4m", ".dav", ".h264", ".264", ".hevc", ".265"}
FALLBACK_EXT = ".mkv"


@dataclass(frozen=True)
class Job:
    input: Path
    output: Path
    start: float = 0.0  # the excerpt to enhance (batch --start/--duration): seconds from the video's start
    duration: Optional[float] = None

    @property
    def excerpt(self) -> Optional[dict]:
        """{start, duration} when only part of the input is enhanced, else None (the whole file)."""
        return {"start": self.start, "duration": self.duration} if self.start or self.duration is not None else None


def _arguments(items: Iterable[str]) -> Iterable[tuple[str, str]]:
    """(argument, where it came from) with each ``@list.txt`` replaced by its lines (blank lines and # comments
    skipped); where is '' for a command-line argument, else 'line N of list.txt' for the error that names it."""
    for item in items:
        if not item.startswith("@"):
            yield item, ""
            continue
        listing = Path(item[1:])
        try:
            # decoded as the file system decodes names: one that is not UTF-8 (an old latin-1 archive) still names its file
            lines = listing.read_text(encoding=sys.getfilesystemencoding(), errors="surrogateescape").splitlines()
        except OSError as e:
            raise InputError(f"cannot read the input list {listing}: {e.strerror or e}") from None
        yield from ((line.strip(), f"line {n} of {listing}") for n, line in enumerate(lines, 1)
                    if line.strip() and not line.lstrip().startswith("#"))


def _videos_below(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
                  and PARTIAL_TAG not in p.name)


def _pictures_hint(folder: Path) -> str:
    """For a folder without videos: the pictures in it, which a folder does not give (an NVR export's thumbnails
    would be enhanced beside its recordings), and how to ask for them."""
    pictures = [p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    if not pictures:
        return ""
    pattern = folder / "**" / f"*{pictures[0].suffix}"
    return (f" ({len(pictures)} pictures: a folder gives its videos only; name the pictures, or match them "
            f"with a glob such as '{pattern}')")


def _output_ext(source: Path, ext: Optional[str]) -> str:
    """--ext, else the input's own (a picture stays a picture), else FALLBACK_EXT."""
    if source.suffix.lower() in IMAGE_EXTENSIONS:  # one frame: --ext's video containers are for videos
        return source.suffix.lower()
    if ext:
        return ext
    if source.suffix.lower() in CONTAINERS:
        return source.suffix.lower()
    return FALLBACK_EXT


def normalise_ext(ext: Optional[str]) -> Optional[str]:
    """``--ext``: 'mp4' or '.mp4', one vidclear writes."""
    if ext is None:
        return None
    ext = ext if ext.startswith(".") else f".{ext}"
    if ext.lower() not in CONTAINERS:
        raise ConfigError(f"--ext {ext}: vidclear writes {' '.join(sorted(CONTAINERS))}")
    return ext.lower()


def find_jobs(items: list[str], outdir: Path, ext: Optional[str] = None, start: float = 0.0,
              duration: Optional[float] = None) -> list[Job]:
    """Every input once, each with its output; one clear error for a name that matches nothing or two
    inputs that would write the same output."""
    ext = normalise_ext(ext)
    found: list[tuple[Path, Path]] = []  # (input, output relative to outdir)
    hint = ""  # the pictures in a folder without videos, for the error if nothing else is found
    for item, where in _arguments(items):
        if is_live(item):
            raise InputError(f"{redact(item)} is a live stream: batch enhances recorded files; record a camera with "
                             "'vidclear enhance URL OUT' or 'vidclear serve'")
        path = Path(item)
        if path.is_dir():
            videos = _videos_below(path)
            if not videos:
                pictures = _pictures_hint(path)
                log.warning("no video files below %s%s", path, pictures)
                hint = hint or pictures
            found += [(v, v.relative_to(path).with_suffix(_output_ext(v, ext))) for v in videos]
        elif path.is_file():
            found.append((path, Path(path.name).with_suffix(_output_ext(path, ext))))
        else:
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True))
            if not matches:
                if where and not path.is_absolute():  # a list made elsewhere ('find . > list.txt') read from here
                    where += f"; a relative name is taken from the working folder {Path.cwd()}"
                raise InputError(f"no such file, folder or match: {item}" + (f" ({where})" if where else ""))
            for m in matches:
                if m.is_dir():
                    found += [(v, v.relative_to(m).with_suffix(_output_ext(v, ext))) for v in _videos_below(m)]
                elif m.is_file():
                    found.append((m, Path(m.name).with_suffix(_output_ext(m, ext))))
    jobs, seen_inputs, outputs, in_outdir = [], set(), {}, 0
    outdir_resolved = outdir.resolve()
    for src, rel in found:
        real = src.resolve()
        if real in seen_inputs:
            continue
        if outdir_resolved in real.parents:
            in_outdir += 1
            continue  # an earlier run's output, when OUTDIR lies below an input folder
        seen_inputs.add(real)
        out = outdir / rel
        if out in outputs:
            raise InputError(f"{outputs[out]} and {src} would both be written to {out}: give them in different "
                             "folders, or run them in separate batches")
        outputs[out] = src
        still = src.suffix.lower() in IMAGE_EXTENSIONS  # a picture has no timeline to cut
        jobs.append(Job(src, out) if still else Job(src, out, start, duration))
    if not jobs and in_outdir:
        raise InputError(f"the inputs are in the output folder {outdir}: their outputs would replace them; "
                         "give -o another folder")
    if not jobs:
        raise InputError(f"no video files among the inputs{hint}")
    return jobs
