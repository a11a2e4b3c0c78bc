"""Files that appear whole or not at all: exports and engines are written beside their target under a
unique temporary name, then renamed into place (two cameras building at once never share a name)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import OutputError


def temporary_beside(path: Path, suffix: str = ".tmp") -> Path:
    """A new, uniquely named empty file in ``path``'s folder, for a writer that wants a path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    except OSError as e:  # a read-only or full disk, a folder without permission: the user's to fix
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    os.close(fd)
    return Path(tmp)


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path``, through a unique temporary file renamed into place."""
    tmp = temporary_beside(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
