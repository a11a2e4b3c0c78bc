"""Files that appear whole or not at all: exports and engines are written beside their target under a
unique temporary name, then renamed into place (two cameras building at once never share a name)."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import OutputError, write_error
from ..io.names import fitting, name_max


def temporary_beside(path: Path, suffix: str = ".tmp") -> Path:
    """A new, uniquely named empty file in ``path``'s folder, for a writer that wants a path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        room = name_max(path.parent) - 2 - 8 - len(os.fsencode(suffix))  # mkstemp adds 8 random characters
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{fitting(path.name, room)}.", suffix=suffix)
    except OSError as e:  # a read-only or full disk, a folder without permission: the user's to fix
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    os.close(fd)
    return Path(tmp)


@contextmanager
def written_whole(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file beside ``path`` for the block to write: renamed onto ``path`` when the block ends,
    removed if it raises. A full disk or a quota met while writing is one line naming ``path``."""
    tmp = temporary_beside(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise write_error(e, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes, suffix: str = ".tmp") -> None:
    """``data`` at ``path``, through a unique temporary file (ending ``suffix``) renamed into place."""
    with written_whole(path, suffix) as tmp:
        tmp.write_bytes(data)
