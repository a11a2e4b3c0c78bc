"""Errors a user can cause, each shown as one line with a non-zero exit code."""

from __future__ import annotations

import errno
from pathlib import Path


class VidclearError(Exception):
    """A problem the user can fix: shown as ``vidclear: error: <message>``, exit 2."""

    exit_code = 2


class ConfigError(VidclearError):
    """A configuration file or flag that does not validate."""


class InputError(VidclearError):
    """An input that is missing, unreadable, not a video, or damaged."""


class CameraUnreachable(InputError):
    """A live source that could not be opened; ``reason`` is why, without the source's name, for a table row."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class StreamSizeChanged(InputError):
    """A live source now sends frames of another size (a camera reconfigured while vidclear ran)."""


class RegionOutside(InputError):
    """A crop region that reaches past the frame: the source answered, the region is wrong for it."""


class OutputError(VidclearError):
    """An output path that cannot be written."""


class UnknownNameError(VidclearError):
    """A model, backend or step name that is not registered."""


class BackendUnavailable(VidclearError):
    """A backend that cannot run here (package missing, no device)."""


class StageFailed(VidclearError):
    """A pipeline stage raised: carries the stage name and the original exception."""

    def __init__(self, stage: str, error: BaseException) -> None:
        self.stage = stage
        self.error = error
        detail = str(error) or type(error).__name__
        super().__init__(f"stage '{stage}' failed: {detail}")


# Write failures that are the user's to fix, met after the output was opened: one clear line each.
WRITE_FAULTS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file size limit is reached",
    errno.EROFS: "the file system became read-only (a disk error?)",
    errno.EIO: "an input/output error on the device",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "the file or its folder was removed (or unmounted) while it was being written",
}


def write_error(e: BaseException, path: Path | str) -> BaseException:
    """An OutputError naming the output for a fault the user can fix (``WRITE_FAULTS``), else the error as it was."""
    why = WRITE_FAULTS.get(getattr(e, "errno", None))  # type: ignore[arg-type]
    return OutputError(f"cannot write {path}: {why}") if why else e


def write_fault(e: OSError) -> str:
    """Why a write failed, in words: ``WRITE_FAULTS``' for a fault the user can fix, else the system's."""
    return WRITE_FAULTS.get(e.errno) or e.strerror or str(e)  # type: ignore[arg-type]
