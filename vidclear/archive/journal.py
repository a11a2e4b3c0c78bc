"""The batch journal: one JSON line per finished attempt, in OUTDIR, so a batch resumes where it stopped.

Each entry is keyed by the input's identity (real path, size, modification
time) and the settings that shape the output (the config, less what only says
where or how fast to run), so changing a setting or the file enhances it again.
Lines are appended and flushed one at a time; a line cut short by a crash is
ignored on reading. A lock on OUTDIR keeps two batches from writing it at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Optional

from ..config import Config
from ..errors import InputError, OutputError, write_error
from ..io.names import PARTIAL_TAG
from .inputs import Job

JOURNAL = "vidclear-batch.jsonl"
LOCK = ".vidclear-batch.lock"
RUNNING_ONLY = {"archive", "cluster", "live", "pipeline", "batch"}  # how and where to run, not what comes out


def settings_digest(cfg: Config) -> str:
    """What the outputs depend on, as the user set it: only the settings that differ from their defaults, so a
    setting a later vidclear adds (at its default) leaves the digest, and a half-done archive's journal, as it was."""
    settings = cfg.model_dump(mode="json", exclude=RUNNING_ONLY, exclude_defaults=True)
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def job_key(job: Job, digest: str) -> str:
    st = job.input.stat()
    identity = [str(job.input.resolve()), st.st_size, st.st_mtime_ns, str(job.output), digest]
    if job.excerpt:  # another excerpt is another output (whole files keep their keys)
        identity += [job.start, job.duration]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:20]


class Journal:
    def __init__(self, outdir: Path) -> None:
        self.path = outdir / JOURNAL
        self.entries: dict[str, dict] = {}  # the last entry per key
        self.failures: dict[str, int] = {}  # failed attempts per key
        try:
            text = self.path.read_bytes() if self.path.exists() else b""
            self._file = self.path.open("a")
            if not text.endswith(b"\n") and text:  # a line cut short: the next one must not join it
                self._file.write("\n")
        except OSError as e:
            raise OutputError(f"cannot use the batch journal {self.path}: {e.strerror or e}") from None
        for line in text.splitlines():
            try:
                entry = json.loads(line)  # bytes: a line that is not UTF-8 is a ValueError too
                key = entry["key"]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash, or damaged on the disk
            self.entries[key] = entry
            if entry.get("status") == "failed":
                self.failures[key] = self.failures.get(key, 0) + 1

    def done(self, key: str, output: Path) -> Optional[dict]:
        """The entry of a finished attempt whose output is still there."""
        entry = self.entries.get(key)
        return entry if entry and entry.get("status") == "done" and output.exists() else None

    def record(self, key: str, job: Job, **fields: object) -> dict:
        entry = {"key": key, "input": str(job.input), "output": str(job.output), "at": time.time(), **fields}
        entry |= job.excerpt or {}  # the output holds only this part of the input
        try:
            self._file.write(json.dumps(entry) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as e:  # the disk filled (or went) between the output and its line
            raise write_error(e, self.path) from None
        self.entries[key] = entry
        if entry.get("status") == "failed":
            self.failures[key] = self.failures.get(key, 0) + 1
        return entry

    def close(self) -> None:
        try:
            self._file.close()
        except OSError:
            pass  # the flush of a line whose write failed: ``record`` has reported that failure


class OutdirLock:
    """An exclusive lock on OUTDIR for one batch at a time (released by the OS if the process dies)."""

    def __init__(self, outdir: Path) -> None:
        try:  # the first file a batch writes in OUTDIR: a folder it cannot write in is found here
            self.file = (outdir / LOCK).open("w")
        except OSError as e:
            raise OutputError(f"cannot write in the output folder {outdir}: {e.strerror or e}") from None
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise InputError(f"another vidclear batch is writing to {outdir}; wait for it or use another folder") \
                from None

    def release(self) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def remove_partials(outdir: Path) -> int:
    """Temporary files a killed run left below OUTDIR (never at an output path); the lock says no run is
    writing them now."""
    count = 0
    for p in outdir.rglob(f".*{PARTIAL_TAG}*"):
        p.unlink(missing_ok=True)
        count += 1
    return count
