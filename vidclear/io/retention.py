"""Retention for segment recordings: a camera recorded day and night fills any disk.

A segment output (``rec/%Y-%m-%d/door_%H%M%S.ts``) owns the files its pattern names,
from this run and earlier ones; ``Retention`` removes the oldest of them (by the time
they were last written) that are older than ``keep_hours``, beyond ``keep_gb`` in all,
or while the disk has less than ``keep_free_gb`` free, as a recorder overwrites its
oldest footage. The segment being written is never removed, and neither is any file the
pattern does not name (``vidclear.io.segment_names``).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from .segment_names import names_of, pattern_root

log = logging.getLogger(__name__)

GB = 1e9


@dataclass(frozen=True)
class Segment:
    path: Path
    written: float  # mtime: when its last frame reached the disk
    size: int


class Retention:
    """Keeps one segment output within its limits; ``apply`` runs a pass in the background, one at a time."""

    def __init__(self, pattern: str, keep_hours: Optional[float] = None, keep_gb: Optional[float] = None,
                 keep_free_gb: Optional[float] = None) -> None:
        self.pattern = pattern
        self.keep_hours, self.keep_gb, self.keep_free_gb = keep_hours, keep_gb, keep_free_gb
        self.root, below = pattern_root(pattern)
        self.depth = len(below)  # how many components below the root the pattern names
        self.names = names_of(below)
        self.removed = 0  # segments removed in this run
        self.removed_bytes = 0
        self._pass: Optional[threading.Thread] = None
        self._warned = False

    def segments(self) -> Iterator[Segment]:
        """The files this output's pattern names, from this run and earlier ones."""
        for folder, dirs, files in os.walk(self.root):
            rel = Path(folder).relative_to(self.root)
            level = 0 if rel == Path(".") else len(rel.parts)
            if level >= self.depth - 1:
                dirs[:] = []  # no deeper than the pattern reaches
            if level != self.depth - 1:
                continue
            for name in files:
                path = Path(folder) / name
                if self.names.match((rel / name).as_posix()):
                    try:
                        st = path.stat()
                    except OSError:
                        continue  # removed meanwhile
                    yield Segment(path, st.st_mtime, st.st_size)

    def apply(self, writing: Path) -> None:
        """Start a pass unless one is running: the encode thread never waits on a disk full of old segments."""
        if self._pass is not None and self._pass.is_alive():
            return
        self._pass = threading.Thread(target=self._guarded, args=(writing,), name="vidclear-retention", daemon=True)
        self._pass.start()

    def _guarded(self, writing: Path) -> None:
        try:
            self.run(writing)
        except Exception as e:  # noqa: BLE001 - a failed pass must not end the recording; the next one tries again
            log.warning("retention of %s: a pass failed (%s); the next segment tries again", self.pattern, e)

    def wait(self) -> None:
        if self._pass is not None:
            self._pass.join()

    def run(self, writing: Path, now: Optional[float] = None) -> None:
        """One pass: remove the oldest segments (never ``writing``) that break a limit, and then the folders the
        pattern made that they leave empty."""
        now = time.time() if now is None else now
        old = sorted((s for s in self.segments() if s.path != writing), key=lambda s: s.written)
        total = sum(s.size for s in old) + _size(writing)
        why: dict[str, int] = {}
        for segment in old:
            reason = self._reason(segment, now, total)
            if reason is None:
                break
            if self._remove(segment, writing):
                total -= segment.size
                why[reason] = why.get(reason, 0) + 1
        if why:
            log.info("retention of %s: removed %s", self.pattern,
                     ", ".join(f"{n} segment{'s' * (n != 1)} {reason}" for reason, n in why.items()))

    def _reason(self, segment: Segment, now: float, total: int) -> Optional[str]:
        """Why the oldest remaining segment goes, or None: then every newer one stays too."""
        if self.keep_hours is not None and now - segment.written > self.keep_hours * 3600:
            return f"older than {self.keep_hours:g} h"
        if self.keep_gb is not None and total > self.keep_gb * GB:
            return f"beyond {self.keep_gb:g} GB"
        free = None if self.keep_free_gb is None else free_bytes(self.root)
        if free is not None and free < self.keep_free_gb * GB:
            return f"while under {self.keep_free_gb:g} GB free"
        return None

    def _remove(self, segment: Segment, writing: Path) -> bool:
        try:
            segment.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as e:
            if not self._warned:
                log.warning("retention of %s: cannot remove %s (%s); old segments stay", self.pattern, segment.path,
                            e.strerror or e)
                self._warned = True
            return False
        self.removed += 1
        self.removed_bytes += segment.size
        folder = segment.path.parent
        keep = {writing.parent, *writing.parent.parents}  # the open segment's folder (its file may not exist yet)
        while folder != self.root and self.root in folder.parents and folder not in keep:  # a dated folder, empty
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
        return True


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def free_bytes(folder: Path) -> Optional[int]:
    """Free bytes on the disk ``folder`` is on; None if it cannot be told (then nothing is removed for it)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def removed_text(segments: int, size: int) -> str:
    """What retention removed, for a summary or a log line: ``removed 3 old segments (1.2 MB)``."""
    return f"removed {segments} old segment{'s' * (segments != 1)} ({size / 1e6:.1f} MB)"
