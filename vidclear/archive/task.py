"""One file of a batch: enhance it and say how it went, as a plain dict (what a Ray task returns)."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import Callable, Optional

from ..config import Config
from ..engine.run import run_enhance
from ..engine.service import InferenceService
from ..errors import VidclearError
from ..secrets import redact

log = logging.getLogger(__name__)


def enhance_file(input_path: str, output_path: str, cfg: Config, service: Optional[InferenceService] = None,
                 on_frames: Optional[Callable[[int], None]] = None, node: Optional[str] = None, start: float = 0.0,
                 duration: Optional[float] = None) -> dict:
    """{status: done|failed, reason, frames, seconds, fps, node}. A damaged input counts as failed and
    its output (the frames before the damage) is removed: nothing partial sits at an output path."""
    began = time.perf_counter()
    node = node or socket.gethostname()

    def ended(status: str, reason: Optional[str], frames: int = 0) -> dict:
        seconds = time.perf_counter() - began
        result = {"status": status, "reason": reason, "frames": frames, "seconds": seconds, "node": node}
        return result | ({"fps": frames / seconds if seconds > 0 else 0.0} if status == "done" else {})

    try:
        outcome = run_enhance(input_path, output_path, cfg, service=service, name=Path(input_path).name,
                              on_frames=on_frames, start=start, duration=duration)
    except VidclearError as e:
        return ended("failed", redact(str(e)))
    except Exception as e:  # noqa: BLE001 - one file's failure never stops the batch
        log.debug("%s failed", input_path, exc_info=True)
        return ended("failed", f"{type(e).__name__}: {redact(str(e))}")
    if outcome.damage:
        Path(output_path).unlink(missing_ok=True)
        return ended("failed", f"{redact(outcome.damage)} (its {outcome.frames} frames before it were not kept)")
    if outcome.interrupted_by is not None:
        Path(output_path).unlink(missing_ok=True)
        return ended("stopped", f"stopped by {outcome.interrupted_by}")
    return ended("done", None, outcome.frames)
